import type { PoolCapacitySettings } from '../../../../shared/settings';
import { type ClusterOutcome, patroniDiagnostics } from '../cluster/patroniRules';
import { inactiveReason } from '../cluster/patroniSettings';
import type { LoadedConfig } from '../config/loadedConfig';
import { probedPools } from '../config/loadedConfig';
import type { OffsetRange, PoolName } from '../config/poolConfig';
import type { UnverifiedCode } from '../connection/connectFailure';
import { serverKey } from '../connection/connectionTarget';
import { budgetFindings, setSizeFix } from './budgetFindings';
import { poolerBudgets, poolerDiagnostics } from './poolerRules';
import { secretDiagnostics } from './secretRules';
import {
  budgetPool,
  groupByServer,
  type MeasuredPool,
  type PoolerBudget,
  type ServerBudget,
  serverBudget,
} from './serverBudget';
import type { ProbeOutcome } from './serverFacts';
import { unverifiedDiagnostics } from './unverifiedPools';

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
  | UnverifiedCode
  | 'pool-exceeds-pooler'
  | 'pooler-exceeds-server'
  | 'behind-pooler'
  | 'config-too-large'
  | 'secret-from-environment'
  | 'failover-capacity'
  | 'pending-restart'
  | 'patroni-api-unreachable'
  | 'no-leader';

export type Severity = 'error' | 'warning' | 'information';

/**
 * A replacement of a pool size, offered as a quick fix: `range`/`newSize` edit the pool the finding
 * sits on; `alsoEdits` the other pools of a "Resize all pools" fix (one workspace edit).
 */
export interface PoolSizeFix {
  title: string;
  range: OffsetRange;
  newSize: number;
  alsoEdits?: { pool: PoolName; range: OffsetRange; newSize: number }[];
}

/** Another place that belongs to a finding (the other pools of the same sum). */
export interface RelatedLocation {
  range: OffsetRange;
  message: string;
}

/** A finding on the config, in offsets; the LSP and the CLI convert it to their own shapes. */
export interface PoolDiagnostic {
  code: DiagnosticCode;
  severity: Severity;
  message: string;
  range: OffsetRange;
  pool?: PoolName;
  fixes?: PoolSizeFix[];
  related?: RelatedLocation[];
}

/**
 * Probe outcomes by pool name; a pool that is absent has not been (or will not be) probed. `cluster`
 * is the Patroni cluster the patroni pool uses (REST API view and each member's probe), when read.
 */
export type PoolOutcomes = Partial<Record<PoolName, ProbeOutcome>> & { cluster?: ClusterOutcome };

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
    // The problem as read with the config's variables: `${POOL}` set to `abc` is "abc", not empty.
    const sizeProblem = pool.poolSizeProblem;
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
        message: `${pool.name}: ${pool.minSizeProblem ?? `${min.key} is invalid`}`,
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
  settings: Pick<PoolCapacitySettings, 'headroomThreshold'>,
): ServerBudget[] {
  const waiting = new Set<string>();
  const measured: MeasuredPool[] = [];
  for (const pool of probedPools(config)) {
    const outcome = outcomes[pool.name];
    if (!outcome) waiting.add(serverKey(pool.target));
    // Behind PgBouncer the clients meet its limits, not PostgreSQL's: poolerBudgets judges them.
    else if (pool.poolSize !== undefined && outcome.ok && !outcome.facts.pooler)
      measured.push({ pool: pool as MeasuredPool['pool'], facts: outcome.facts });
  }
  return [...groupByServer(measured).entries()]
    .filter(([key]) => !waiting.has(key))
    .map(([key, group]) => serverBudget(key, group.map(budgetPool), { ratio: settings.headroomThreshold }));
}

/** Findings that need the servers' facts. */
export function capacityDiagnostics(
  config: LoadedConfig,
  outcomes: PoolOutcomes,
  settings: PoolCapacitySettings,
  budgets: ServerBudget[] = serverBudgets(config, outcomes, settings),
): PoolDiagnostic[] {
  // Pools whose server could not be read: their own codes, in their own module.
  const out: PoolDiagnostic[] = unverifiedDiagnostics(config, outcomes);
  for (const budget of budgets) out.push(...budgetFindings(budget, config, false));
  return out;
}

/** The target applies to the project pool: the one every agent draws on at once. */
export function targetDiagnostics(
  config: LoadedConfig,
  outcomes: PoolOutcomes,
  settings: PoolCapacitySettings,
  budgets: readonly (ServerBudget | PoolerBudget)[] = [
    ...serverBudgets(config, outcomes, settings),
    ...poolerBudgets(config, outcomes, settings),
  ],
): PoolDiagnostic[] {
  const pool = config.pools.find((p) => p.name === 'project');
  const size = pool?.declaration.size;
  // Under `mode: patroni-ha` the singleNode project pool is not used: no target finding on it.
  if (inactiveReason(config.document, 'project')) return [];
  if (!pool || !size || pool.poolSize === undefined || pool.poolSize >= config.targetAgents) return [];
  const target = config.targetAgents;
  // Offer the target only where the budget says the project pool alone can grow to it and keep the
  // headroom and every limit, the other pools as they are.
  const largest = budgets
    .find((b) => b.serverKey === serverKey(pool.target))
    ?.pools.find((p) => p.name === 'project')?.largestAlone;
  const fits = largest !== undefined && largest >= target;
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
          ? [setSizeFix(size.range, target, { value: `the target (${target})` })]
          : [],
    },
  ];
}

export function diagnose(
  config: LoadedConfig,
  outcomes: PoolOutcomes,
  settings: PoolCapacitySettings,
): PoolDiagnostic[] {
  // The capacity, pooler and target findings read the same budgets: work them out once per validation.
  const budgets = serverBudgets(config, outcomes, settings);
  const poolers = poolerBudgets(config, outcomes, settings);
  const found = [
    ...secretDiagnostics(config, settings),
    ...configDiagnostics(config),
    ...capacityDiagnostics(config, outcomes, settings, budgets),
    ...poolerDiagnostics(config, outcomes, settings, poolers),
    ...patroniDiagnostics(config, outcomes, settings),
    ...targetDiagnostics(config, outcomes, settings, [...budgets, ...poolers]),
  ];
  // Every message leaves through the config's one scrubber: parser errors, driver errors and
  // echoed values may carry a password from the config, .env, the environment or pgpass.
  return found.map((d) => ({ ...d, message: config.scrub(d.message) }));
}
