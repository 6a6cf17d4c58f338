/**
 * Reading a Patroni cluster for a check: the REST API first (who is leader, which replicas exist),
 * then each member's PostgreSQL with the same probe as any pool (live max_connections, reserved
 * slots, other clients — Patroni's own connection included — and role and database limits).
 * Also the seam the load test and the status bar use to find the current leader.
 */
import type { ProbeOutcome } from '../../core/capacity/serverFacts';
import { leaderOf, type PatroniClusterView, type PatroniMember } from '../../core/cluster/patroniParse';
import { type ClusterOutcome, memberTarget, readablePatroniPool } from '../../core/cluster/patroniRules';
import { endpointText, patroniSettings } from '../../core/cluster/patroniSettings';
import type { LoadedConfig } from '../../core/config/loadedConfig';
import type { ResolvedPool } from '../../core/config/poolConfig';
import type { ConnectionTarget } from '../../core/connection/connectionTarget';
import type { WatchedServer } from '../probe/statusPoller';
import { readPatroniCluster } from './patroniApi';

/** Probes one member's PostgreSQL (the facts cache's get, or probeServer directly). */
export type MemberProbe = (target: ConnectionTarget) => Promise<ProbeOutcome>;

/**
 * The cluster as the REST API describes it, with every listed member's PostgreSQL probed in
 * parallel. Bounded: the REST reads by apiTimeout each, the probes by their own deadline.
 */
export async function readClusterOutcome(
  pool: ResolvedPool,
  probe: MemberProbe,
  signal?: AbortSignal,
): Promise<ClusterOutcome> {
  const read = await readPatroniCluster(patroniSettings(pool.declaration), signal);
  if (!read.ok) return { ok: false, attempts: read.attempts, readAt: Date.now() };
  const probes: Record<string, ProbeOutcome | undefined> = {};
  await Promise.all(
    read.view.state.members
      .filter((m) => m.host && m.port > 0)
      .map(async (member) => {
        probes[member.name] = await probe(memberTarget(pool, member));
      }),
  );
  return { ok: true, view: read.view, probes };
}

/**
 * The status bar's entry for a config's cluster: polled on whichever member leads at each poll.
 * Undefined when the config uses no readable cluster.
 */
export function clusterWatch(config: LoadedConfig, configUri: string): WatchedServer | undefined {
  const pool = readablePatroniPool(config);
  if (!pool) return undefined;
  const api = patroniSettings(pool.declaration).endpoints.map(endpointText).join(', ');
  return {
    target: pool.target,
    pools: [
      {
        name: pool.name,
        poolSize: pool.poolSize,
        configUri,
        user: pool.target.user,
        database: pool.target.database,
      },
    ],
    cluster: { pool, api },
  };
}

/** The pool the cluster serves, when the config uses a Patroni cluster and its settings are usable. */
export function patroniPoolOf(config: LoadedConfig): ResolvedPool | undefined {
  return readablePatroniPool(config);
}

export type LeaderLookup =
  | { ok: true; leader: PatroniMember; target: ConnectionTarget; view: PatroniClusterView }
  | { ok: false; message: string };

/**
 * Phase-2 seam (status bar, `test --pool patroni`, the failover load test): the current leader and
 * the connection target of the patroni pool on it, read through the REST API within apiTimeout per
 * address. Call it again after a connection fails to follow a switchover or failover.
 */
export async function findLeader(pool: ResolvedPool, signal?: AbortSignal): Promise<LeaderLookup> {
  const read = await readPatroniCluster(patroniSettings(pool.declaration), signal);
  if (!read.ok)
    return {
      ok: false,
      message: `the Patroni REST API did not answer at ${read.attempts.map((a) => `${a.api} (${a.why})`).join(', ')}`,
    };
  const leader = leaderOf(read.view.state);
  if (!leader) return { ok: false, message: `the cluster has no leader (read from ${read.view.api})` };
  return { ok: true, leader, target: memberTarget(pool, leader), view: read.view };
}
