import type { PoolCapacitySettings } from '../../../shared/settings';
import type { LoadedConfig } from '../config/loadConfig';
import { probedPools, readPoolSize } from '../config/loadConfig';
import type { OffsetRange, PoolName } from '../config/poolConfig';
import { FAILURE_LABELS } from '../db/connectFailure';
import { describeTarget, serverKey } from '../db/connectionTarget';
import { poolerDiagnostics } from './poolerRules';
import { groupByServer, type MeasuredPool, type ServerBudget, serverBudget } from './serverBudget';
import type { ProbeOutcome } from './serverFacts';

export type DiagnosticCode =
  | 'yaml-syntax'
  | 'invalid-pool-size'
  | 'invalid-connection-setting'
  | 'unresolved-variable'
  | 'pool-exceeds-server'
  | 'pool-exceeds-role-limit'
  | 'pool-exceeds-database-limit'
  | 'low-headroom'
  | 'pool-below-target'
  | 'server-unreachable'
  | 'pool-exceeds-pooler'
  | 'pooler-exceeds-server'
  | 'behind-pooler';

export type Severity = 'error' | 'warning' | 'information';

/** A replacement of a pool size, offered as a quick fix. */
export interface PoolSizeFix {
  title: string;
  range: OffsetRange;
  newSize: number;
}

/** A finding on the config, in offsets; the LSP and the CLI convert it to their own shapes. */
export interface PoolDiagnostic {
  code: DiagnosticCode;
  severity: Severity;
  message: string;
  range: OffsetRange;
  pool?: PoolName;
  fixes?: PoolSizeFix[];
}

/** Probe outcomes by pool name; a pool that is absent has not been (or will not be) probed. */
export type PoolOutcomes = Partial<Record<PoolName, ProbeOutcome>>;

/** Findings that need no server: syntax, values, variables, the target. */
export function configDiagnostics(config: LoadedConfig): PoolDiagnostic[] {
  const out: PoolDiagnostic[] = config.document.syntaxErrors.map((error) => ({
    code: 'yaml-syntax',
    severity: 'error',
    message: `YAML syntax error: ${error.message}`,
    range: error.range,
  }));
  for (const pool of config.pools) {
    const { declaration } = pool;
    const size = declaration.size;
    const sizeProblem = readPoolSize(size, {}).problem;
    if (size && pool.poolSize === undefined && sizeProblem) {
      out.push({
        code: 'invalid-pool-size',
        severity: 'error',
        message: `${pool.name}: ${sizeProblem}`,
        range: size.range,
        pool: pool.name,
      });
    }
    const min = declaration.min;
    if (min && pool.minSize === undefined) {
      out.push({
        code: 'invalid-pool-size',
        severity: 'error',
        message: `${pool.name}: ${readPoolSize(min, {}).problem ?? `${min.key} is invalid`}`,
        range: min.range,
        pool: pool.name,
      });
    } else if (
      min &&
      pool.minSize !== undefined &&
      pool.poolSize !== undefined &&
      pool.minSize > pool.poolSize
    ) {
      out.push({
        code: 'invalid-pool-size',
        severity: 'error',
        message: `${pool.name}: ${min.key} ${pool.minSize} is larger than ${size?.key ?? 'poolSize'} ${pool.poolSize}`,
        range: min.range,
        pool: pool.name,
      });
    }
    for (const problem of pool.resolution.problems) {
      out.push({
        code: 'invalid-connection-setting',
        severity: 'error',
        message: `${pool.name}: ${problem.message}`,
        range: problem.range,
        pool: pool.name,
      });
    }
    for (const variable of pool.resolution.unresolved) {
      out.push({
        code: 'unresolved-variable',
        severity: 'warning',
        message: `${pool.name}: \${${variable.name}} is set neither in the environment nor in the workspace .env; falling back to the next source`,
        range: variable.range,
        pool: pool.name,
      });
    }
  }
  return out;
}

/**
 * The budget of each server, once every probed pool on it has answered: judging a server on some
 * of its pools would show a verdict that flips when the rest arrive.
 */
export function serverBudgets(
  config: LoadedConfig,
  outcomes: PoolOutcomes,
  settings: PoolCapacitySettings,
): ServerBudget[] {
  const waiting = new Set<string>();
  const measured: MeasuredPool[] = [];
  for (const pool of probedPools(config)) {
    const outcome = outcomes[pool.name];
    if (!outcome) waiting.add(serverKey(pool.target));
    // Behind PgBouncer the clients meet its limits, not PostgreSQL's: poolerDiagnostics judges them.
    else if (pool.poolSize !== undefined && outcome.ok && !outcome.facts.pooler)
      measured.push({ pool: pool as MeasuredPool['pool'], facts: outcome.facts });
  }
  return [...groupByServer(measured).entries()]
    .filter(([key]) => !waiting.has(key))
    .map(([, group]) => serverBudget(group, settings.headroomThreshold));
}

/** Findings that need the servers' facts. */
export function capacityDiagnostics(
  config: LoadedConfig,
  outcomes: PoolOutcomes,
  settings: PoolCapacitySettings,
  budgets: ServerBudget[] = serverBudgets(config, outcomes, settings),
): PoolDiagnostic[] {
  const out: PoolDiagnostic[] = [];
  for (const pool of probedPools(config)) {
    const outcome = outcomes[pool.name];
    if (outcome && !outcome.ok) {
      out.push({
        code: 'server-unreachable',
        severity: 'warning',
        message: `${pool.name}: cannot connect to ${describeTarget(pool.target)}: ${FAILURE_LABELS[outcome.failure.class]} (${outcome.failure.message})`,
        range: pool.declaration.keyRange,
        pool: pool.name,
      });
    }
  }
  const byName = new Map(config.pools.map((p) => [p.name, p]));
  for (const budget of budgets) {
    const shares = budget.pools.map((p) => `${p.name} ${p.poolSize}`).join(' + ');
    const arithmetic = budgetArithmetic(budget);
    const fixFor = (name: PoolName): PoolSizeFix[] => {
      const pool = byName.get(name);
      const suggested = budget.suggestedSizes[name];
      if (!pool?.declaration.size || typeof pool.declaration.size.value !== 'number') return [];
      if (suggested === undefined || suggested >= (pool.poolSize ?? 0)) return [];
      return [
        { title: `Set poolSize to ${suggested}`, range: pool.declaration.size.range, newSize: suggested },
      ];
    };
    const onEachPool = (code: DiagnosticCode, severity: Severity, message: string, names: PoolName[]) => {
      for (const name of names) {
        const range = byName.get(name)?.declaration.size?.range;
        if (range)
          out.push({
            code,
            severity,
            message: `${name}: ${message}`,
            range,
            pool: name,
            fixes: fixFor(name),
          });
      }
    };
    const names = budget.pools.map((p) => p.name);
    let exceeded = false;
    if (budget.poolsTotal > budget.free) {
      exceeded = true;
      onEachPool(
        'pool-exceeds-server',
        'error',
        `the pools on ${budget.serverKey} need ${budget.poolsTotal} connections (${shares}) but the server can give ${budget.free} now: ${arithmetic}`,
        names,
      );
    }
    for (const limit of budget.limits) {
      if (limit.need <= limit.available) continue;
      exceeded = true;
      const poolShares = limit.pools.map((n) => `${n} ${byName.get(n)?.poolSize}`).join(' + ');
      onEachPool(
        limit.kind === 'role' ? 'pool-exceeds-role-limit' : 'pool-exceeds-database-limit',
        'error',
        `${limit.kind} "${limit.name}" has CONNECTION LIMIT ${limit.limit} with ${limit.inUse} in use by others, so ${limit.available} are left, but its pools need ${limit.need} (${poolShares})`,
        limit.pools,
      );
    }
    if (!exceeded && budget.freeAfter < budget.headroomSlots) {
      const percent = Math.round(settings.headroomThreshold * 100);
      onEachPool(
        'low-headroom',
        'warning',
        `the pools on ${budget.serverKey} (${shares} = ${budget.poolsTotal}) fit, but leave ${budget.freeAfter} of ${budget.usable} usable slots free, less than the ${percent}% headroom (${budget.headroomSlots}): ${arithmetic}`,
        names,
      );
    }
  }
  return out;
}

/** The target applies to the project pool: the one every agent draws on at once. */
export function targetDiagnostics(
  config: LoadedConfig,
  outcomes: PoolOutcomes,
  settings: PoolCapacitySettings,
  budgets: ServerBudget[] = serverBudgets(config, outcomes, settings),
): PoolDiagnostic[] {
  const pool = config.pools.find((p) => p.name === 'project');
  const size = pool?.declaration.size;
  if (!pool || !size || pool.poolSize === undefined || pool.poolSize >= config.targetAgents) return [];
  const target = config.targetAgents;
  const poolSize = pool.poolSize;
  const budget = budgets.find((b) => b.serverKey === serverKey(pool.target));
  // Offer the target only where it is known to fit the server with its headroom.
  const fits =
    budget !== undefined &&
    budget.poolsTotal - poolSize + target <= budget.free - budget.headroomSlots &&
    budget.limits.every((l) => !l.pools.includes('project') || l.need - poolSize + target <= l.available);
  const sourceNote =
    config.targetAgentsSource === 'swarm.maxAgents'
      ? 'swarm.maxAgents'
      : config.targetAgentsSource === 'setting'
        ? 'the poolCapacity.targetAgents setting'
        : 'the default target';
  return [
    {
      code: 'pool-below-target',
      severity: 'warning',
      message: `project: poolSize ${pool.poolSize} is smaller than the ${target} concurrent agents of ${sourceNote}; agents past ${pool.poolSize} will wait or fail`,
      range: size.range,
      pool: 'project',
      fixes:
        fits && typeof size.value === 'number'
          ? [{ title: `Set poolSize to the target (${target})`, range: size.range, newSize: target }]
          : [],
    },
  ];
}

export function diagnose(
  config: LoadedConfig,
  outcomes: PoolOutcomes,
  settings: PoolCapacitySettings,
): PoolDiagnostic[] {
  // Both the capacity and the target findings read the budgets: work them out once per validation.
  const budgets = serverBudgets(config, outcomes, settings);
  return [
    ...configDiagnostics(config),
    ...capacityDiagnostics(config, outcomes, settings, budgets),
    ...poolerDiagnostics(config, outcomes, settings),
    ...targetDiagnostics(config, outcomes, settings, budgets),
  ];
}

/** "max_connections 30 − 3 reserved − 2 used by others = 25 free for this role" */
export function budgetArithmetic(budget: ServerBudget): string {
  const reservedNote = budget.maxConnections - budget.usable;
  const parts = [`max_connections ${budget.maxConnections}`];
  if (reservedNote > 0) parts.push(`${reservedNote} reserved`);
  parts.push(`${budget.usedByOthers} used by others`);
  return `${parts.join(' − ')} = ${budget.free} free for this role`;
}
