import type { PoolCapacitySettings } from '../../../shared/settings';
import type { LoadedConfig } from '../config/loadConfig';
import { readPoolSize } from '../config/loadConfig';
import type { OffsetRange, PoolName, ResolvedPool } from '../config/poolConfig';
import { FAILURE_LABELS } from '../db/connectFailure';
import { describeTarget, serverKey } from '../db/connectionTarget';
import type { PoolerLimits } from './poolerFacts';
import {
  groupByServer,
  type MeasuredPool,
  type ServerBudget,
  serverBudget,
  usableSlots,
} from './serverBudget';
import type { ProbeOutcome, ServerFacts } from './serverFacts';

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

/** Pools the server checks apply to: the patroni block names REST API hosts, not a PostgreSQL server. */
export function probedPools(config: LoadedConfig): ResolvedPool[] {
  return config.pools.filter((pool) => pool.name !== 'patroni' && pool.resolution.problems.length === 0);
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
  const budgets = serverBudgets(config, outcomes, settings);
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
): PoolDiagnostic[] {
  const pool = config.pools.find((p) => p.name === 'project');
  const size = pool?.declaration.size;
  if (!pool || !size || pool.poolSize === undefined || pool.poolSize >= config.targetAgents) return [];
  const target = config.targetAgents;
  const poolSize = pool.poolSize;
  const budget = serverBudgets(config, outcomes, settings).find(
    (b) => b.serverKey === serverKey(pool.target),
  );
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
  return [
    ...configDiagnostics(config),
    ...capacityDiagnostics(config, outcomes, settings),
    ...poolerDiagnostics(config, outcomes, settings),
    ...targetDiagnostics(config, outcomes, settings),
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

/** The pools that reach PostgreSQL through one PgBouncer, with what it allows them. */
export interface PoolerBudget {
  serverKey: string;
  pools: { name: PoolName; poolSize: number; user: string; database: string }[];
  poolsTotal: number;
  limits?: PoolerLimits;
  limitsUnreadable?: string;
  /** max_client_conn less other clients. */
  clientsAvailable?: number;
  headroomSlots?: number;
  /** Server connections PgBouncer may open to PostgreSQL for these pools, and what PostgreSQL has free. */
  serverNeed?: number;
  serverFree?: number;
  backendPort: number | null;
  suggestedSizes: Partial<Record<PoolName, number>>;
}

export function poolerBudgets(
  config: LoadedConfig,
  outcomes: PoolOutcomes,
  settings: PoolCapacitySettings,
): PoolerBudget[] {
  const groups = new Map<string, { pool: ResolvedPool & { poolSize: number }; facts: ServerFacts }[]>();
  for (const pool of probedPools(config)) {
    const outcome = outcomes[pool.name];
    if (pool.poolSize === undefined || !outcome?.ok || !outcome.facts.pooler) continue;
    const key = serverKey(pool.target);
    groups.set(key, [
      ...(groups.get(key) ?? []),
      { pool: pool as ResolvedPool & { poolSize: number }, facts: outcome.facts },
    ]);
  }
  return [...groups.entries()].map(([key, group]) => {
    const first = group[0]!;
    const pooler = first.facts.pooler!;
    const pools = group.map((g) => ({
      name: g.pool.name,
      poolSize: g.pool.poolSize,
      user: g.pool.target.user,
      database: g.pool.target.database,
    }));
    const poolsTotal = pools.reduce((sum, p) => sum + p.poolSize, 0);
    const budget: PoolerBudget = {
      serverKey: key,
      pools,
      poolsTotal,
      backendPort: pooler.backendPort,
      limitsUnreadable: pooler.limitsUnreadable,
      suggestedSizes: {},
    };
    const limits = group.find((g) => g.facts.pooler?.limits)?.facts.pooler?.limits;
    if (!limits) return budget;
    budget.limits = limits;
    budget.clientsAvailable = Math.max(0, limits.maxClientConn - limits.otherClients);
    budget.headroomSlots = Math.ceil(settings.headroomThreshold * limits.maxClientConn);
    const allowed = budget.clientsAvailable - budget.headroomSlots;
    for (const p of pools)
      budget.suggestedSizes[p.name] = Math.max(1, Math.floor((allowed * p.poolSize) / poolsTotal));
    // PgBouncer keeps one server pool per user and database, of pool_size (+ reserve) at most,
    // and never more than its clients ask for.
    const pairs = new Map<string, { need: number; facts: ServerFacts }>();
    for (const g of group) {
      const pair = `${g.pool.target.user}\0${g.pool.target.database}`;
      const entry = pairs.get(pair) ?? { need: 0, facts: g.facts };
      entry.need += g.pool.poolSize;
      pairs.set(pair, entry);
    }
    let serverNeed = 0;
    let serverFree = Number.POSITIVE_INFINITY;
    for (const { need, facts } of pairs.values()) {
      const l = facts.pooler?.limits ?? limits;
      const caps = [l.poolSize + l.reservePool, need];
      if (l.maxDbConnections > 0) caps.push(l.maxDbConnections);
      if (l.maxUserConnections > 0) caps.push(l.maxUserConnections);
      serverNeed += Math.min(...caps);
      // PgBouncer's own open server connections are among PostgreSQL's "others" but are the pools' own.
      serverFree = Math.min(serverFree, usableSlots(facts) - facts.usedByOthers + l.serverConnections);
    }
    budget.serverNeed = serverNeed;
    budget.serverFree = Math.max(0, serverFree);
    return budget;
  });
}

/** Findings for pools behind PgBouncer: clients against max_client_conn, its server pools against PostgreSQL. */
export function poolerDiagnostics(
  config: LoadedConfig,
  outcomes: PoolOutcomes,
  settings: PoolCapacitySettings,
): PoolDiagnostic[] {
  const out: PoolDiagnostic[] = [];
  const byName = new Map(config.pools.map((p) => [p.name, p]));
  for (const budget of poolerBudgets(config, outcomes, settings)) {
    const shares = budget.pools.map((p) => `${p.name} ${p.poolSize}`).join(' + ');
    const backend = budget.backendPort === null ? 'a Unix socket' : `port ${budget.backendPort}`;
    if (!budget.limits) {
      for (const p of budget.pools) {
        const pool = byName.get(p.name)!;
        out.push({
          code: 'behind-pooler',
          severity: 'information',
          message: `${p.name}: reaches PostgreSQL (on ${backend}) through PgBouncer at ${budget.serverKey}, so its clients meet PgBouncer's max_client_conn, which cannot be read: ${budget.limitsUnreadable}. Add the role to stats_users to have it checked.`,
          range: pool.declaration.keyRange,
          pool: p.name,
        });
      }
      continue;
    }
    const l = budget.limits;
    const onEach = (code: DiagnosticCode, severity: Severity, message: string, withFix: boolean) => {
      for (const p of budget.pools) {
        const size = byName.get(p.name)?.declaration.size;
        if (!size) continue;
        const suggested = budget.suggestedSizes[p.name];
        const fixes =
          withFix && typeof size.value === 'number' && suggested !== undefined && suggested < p.poolSize
            ? [{ title: `Set poolSize to ${suggested}`, range: size.range, newSize: suggested }]
            : [];
        out.push({
          code,
          severity,
          message: `${p.name}: ${message}`,
          range: size.range,
          pool: p.name,
          fixes,
        });
      }
    };
    const clientArithmetic = `PgBouncer max_client_conn ${l.maxClientConn} − ${l.otherClients} other clients = ${budget.clientsAvailable}`;
    if (budget.poolsTotal > budget.clientsAvailable!) {
      onEach(
        'pool-exceeds-pooler',
        'error',
        `the pools on PgBouncer ${budget.serverKey} need ${budget.poolsTotal} client connections (${shares}) but it can take ${budget.clientsAvailable} more: ${clientArithmetic}`,
        true,
      );
    } else if (budget.clientsAvailable! - budget.poolsTotal < budget.headroomSlots!) {
      onEach(
        'low-headroom',
        'warning',
        `the pools on PgBouncer ${budget.serverKey} (${shares} = ${budget.poolsTotal}) fit, but leave ${budget.clientsAvailable! - budget.poolsTotal} of max_client_conn ${l.maxClientConn} free, less than the ${Math.round(settings.headroomThreshold * 100)}% headroom (${budget.headroomSlots}): ${clientArithmetic}`,
        true,
      );
    }
    if (budget.serverNeed! > budget.serverFree!) {
      onEach(
        'pooler-exceeds-server',
        'warning',
        `PgBouncer ${budget.serverKey} may open ${budget.serverNeed} server connections for these pools (pool_size ${l.poolSize} + reserve ${l.reservePool} per user and database, ${l.poolMode} mode) but PostgreSQL (on ${backend}) has ${budget.serverFree} free for them`,
        false,
      );
    }
  }
  return out;
}
