/**
 * Planning a load test, before any test connection is opened: the options checked, the pools
 * selected, the agents split over them, every pool's server probed, and the safety check.
 */
import { randomBytes } from 'node:crypto';
import type { LoadTestOptions } from '../../../../shared/loadTest';
import type { PoolerFacts } from '../capacity/poolerFacts';
import type { ServerFacts } from '../capacity/serverFacts';
import type { PoolName, ResolvedPool } from '../config/poolConfig';
import { type ConnectFailure, FAILURE_LABELS } from '../connection/connectFailure';
import { describeTarget, serverKey } from '../connection/connectionTarget';
import type { ServerDemand } from './safety';

/** What the engine needs of a pool (a ResolvedPool fits). */
export type LoadTestPool = Pick<ResolvedPool, 'name' | 'poolSize' | 'minSize' | 'target'>;

/** The test could not start: bad options, a pool missing from the config, or a server that cannot be probed. */
export class LoadTestSetupError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'LoadTestSetupError';
  }
}

/** One tested pool: its share of the agents and what its server's probe read. */
export interface PlannedPool {
  pool: LoadTestPool;
  agents: number;
  facts: ServerFacts;
}

/** One server of a run (pools on the same server share it): the pool that reaches it, and its pooler. */
export interface PlannedServer {
  pool: LoadTestPool;
  pooler?: PoolerFacts;
}

/** The most connections one pool may be sized to: anything larger is a typo, refused before it costs anything. */
export const MAX_POOL_SIZE = 10_000;

/** The pools a selection names; `both` is project and shared. */
export function selectPools<P extends LoadTestPool>(
  pools: readonly P[],
  selection: LoadTestOptions['pool'],
): P[] {
  const names: PoolName[] = selection === 'both' ? ['project', 'shared'] : [selection];
  return names.map((name) => {
    const pool = pools.find((p) => p.name === name);
    if (!pool) throw new LoadTestSetupError(`the config has no ${name} pool`);
    if (pool.poolSize === undefined)
      throw new LoadTestSetupError(`the ${name} pool has no valid poolSize (a whole number of at least 1)`);
    return pool;
  });
}

/**
 * Splits N agents over pools in proportion to their sizes (largest remainder). With `both`, the
 * agents of a swarm each work through one of the pools, as our users plan their capacity
 * ("burst capacity: 55 agents, project + shared"); at or below the sum of the sizes no pool gets more
 * agents than its size.
 */
export function splitAgents(agents: number, sizes: readonly number[]): number[] {
  const total = sizes.reduce((a, b) => a + b, 0);
  if (sizes.length === 1 || total === 0) return sizes.map((_, i) => (i === 0 ? agents : 0));
  const exact = sizes.map((s) => (agents * s) / total);
  const shares = exact.map(Math.floor);
  let left = agents - shares.reduce((a, b) => a + b, 0);
  const byRemainder = exact
    .map((e, i) => ({ i, r: e - Math.floor(e) }))
    .sort((a, b) => b.r - a.r || a.i - b.i);
  for (const { i } of byRemainder) {
    if (left-- <= 0) break;
    shares[i]!++;
  }
  return shares;
}

/** The most connections a test may hold at once on each server, the observer included. */
export function serverDemands(
  plan: { pool: LoadTestPool; agents: number; facts?: ServerFacts }[],
  mode: LoadTestOptions['mode'],
): ServerDemand[] {
  const byServer = new Map<string, ServerDemand>();
  for (const { pool, agents, facts } of plan) {
    const key = serverKey(pool.target);
    const demand = byServer.get(key) ?? {
      serverKey: key,
      host: pool.target.host,
      facts: [],
      connectionsNeeded: 1,
      parts: [],
    };
    const size = pool.poolSize ?? agents;
    const connections = mode === 'direct' ? agents : Math.max(Math.min(agents, size), pool.minSize ?? 0);
    demand.connectionsNeeded += connections;
    demand.parts?.push(
      connections === agents
        ? `${agents} agent${agents === 1 ? '' : 's'}`
        : `${connections} connections of the ${pool.name} pool`,
    );
    if (facts) {
      demand.facts.push(facts);
      demand.pools = [
        ...(demand.pools ?? []),
        { name: pool.name, user: pool.target.user, database: pool.target.database, connections, facts },
      ];
    }
    byServer.set(key, demand);
  }
  return [...byServer.values()];
}

export function validateOptions(options: LoadTestOptions): void {
  const whole = (name: string, value: number, min: number, max: number) => {
    if (!Number.isInteger(value) || value < min || value > max)
      throw new LoadTestSetupError(`${name} must be a whole number from ${min} to ${max}, not ${value}`);
  };
  whole('agents', options.agents, 1, 10_000);
  whole('duration', options.durationMs, 0, 3_600_000);
  whole('bursts', options.bursts, 1, 1000);
  whole('pause', options.pauseMs, 0, 3_600_000);
  whole('rounds', options.rounds, 1, 1000);
  whole('acquire timeout', options.acquireTimeoutMs, 1, 3_600_000);
  if (!['capacity', 'burst', 'sustained'].includes(options.shape))
    throw new LoadTestSetupError(`unknown test shape ${options.shape}`);
  if (!['pool', 'direct'].includes(options.mode))
    throw new LoadTestSetupError(`mode must be pool or direct, not ${options.mode}`);
  if (!['fail', 'wait'].includes(options.onExhausted))
    throw new LoadTestSetupError(`on-exhausted must be fail or wait, not ${options.onExhausted}`);
  if (!['project', 'shared', 'both', 'patroni'].includes(options.pool))
    throw new LoadTestSetupError(`pool must be project, shared, both or patroni, not ${options.pool}`);
}

/** Pool sizes a run would allocate and connect for: refused before the probe when absurd. */
export function validatePoolSizes(pools: readonly LoadTestPool[]): void {
  for (const pool of pools) {
    for (const [what, value] of [
      ['poolSize', pool.poolSize],
      ['minimum size', pool.minSize],
    ] as const) {
      if (value !== undefined && value > MAX_POOL_SIZE)
        throw new LoadTestSetupError(
          `the ${pool.name} pool's ${what} ${String(value).slice(0, 24)} is above ${MAX_POOL_SIZE.toLocaleString('en-US')}, the most a load test opens: fix the config (--force does not override this)`,
        );
    }
  }
}

export function newRunId(): string {
  return randomBytes(4).toString('hex');
}

/** Why a pool's server could not be read: the one wording, wherever a probe failure stops a run. */
export function unreachableServerMessage(pool: LoadTestPool, failure: ConnectFailure): string {
  return `cannot reach the ${pool.name} pool's server ${describeTarget(pool.target)}: ${FAILURE_LABELS[failure.class]}${failure.code ? ` (${failure.code})` : ''}: ${failure.message}`;
}

/** The run's servers by key, each with the first pool that reaches it and its pooler. */
export function plannedServers(plan: readonly PlannedPool[]): Map<string, PlannedServer> {
  const servers = new Map<string, PlannedServer>();
  for (const { pool, facts } of plan) {
    const key = serverKey(pool.target);
    if (!servers.has(key)) servers.set(key, { pool, pooler: facts.pooler });
  }
  return servers;
}
