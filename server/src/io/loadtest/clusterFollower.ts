/**
 * A load test on a Patroni cluster (`--pool patroni`): it starts on the leader the REST API names,
 * and when agents lose it (a switchover, a failover) it asks the REST API again until another
 * member leads, moves every pool there, and measures the reconnect burst: every pool reopening its
 * connections at once on the new leader, as they all do after a failover.
 */
import type { FailoverReport, PoolSelection, ReconnectBurst } from '../../../../shared/loadTest';
import { patroniSettings } from '../../core/cluster/patroniSettings';
import type { LoadedConfig } from '../../core/config/loadedConfig';
import type { ResolvedPool } from '../../core/config/poolConfig';
import { classifyFailure } from '../../core/connection/connectFailure';
import { type ConnectionTarget, serverKey } from '../../core/connection/connectionTarget';
import { computeFailoverWindow, failoverReport, isFailoverClass } from '../../core/loadtest/failoverWindow';
import { LoadTestSetupError } from '../../core/loadtest/plan';
import { findLeader, type LeaderLookup, patroniPoolOf } from '../cluster/patroniCheck';
import { closeConnection, openConnection } from '../db/openConnection';
import { probeServer } from '../probe/probeServer';
import type { Lease } from './agentPool';
import type { AgentResult, PoolRun } from './phases';
import type { RunObserver } from './runObserver';
import { pause } from './waits';

/**
 * What a cluster's agents run: only a leader answers it (a standby refuses with 25006), so an agent
 * that reached a member which is no longer the leader fails instead of passing on a replica.
 */
export const LEADER_QUERY = 'SELECT txid_current()';
/** How often the REST API is asked while the cluster has no new leader yet. */
const RELOCATE_POLL_MS = 250;

type LeaderFound = Extract<LeaderLookup, { ok: true }>;

/** The patroni pool aimed at the current leader, and the follower that keeps it there. */
export async function clusterLoadTestPool(
  pool: ResolvedPool,
  signal?: AbortSignal,
): Promise<{ pool: ResolvedPool; follower: ClusterFollower }> {
  const found = await findLeader(pool, signal);
  if (!found.ok) throw new LoadTestSetupError(`cannot load-test the Patroni cluster: ${found.message}`);
  return { pool: { ...pool, target: found.target }, follower: new ClusterFollower(pool, found) };
}

/**
 * The pools a load test gets: the config's, with `patroni` aimed at the cluster's current leader
 * and a follower for it. Throws LoadTestSetupError when the cluster is not in use or has no leader.
 */
export async function loadTestPools(
  config: LoadedConfig,
  selection: PoolSelection,
  signal?: AbortSignal,
): Promise<{ pools: ResolvedPool[]; cluster?: ClusterFollower }> {
  if (selection !== 'patroni') return { pools: config.pools };
  const pool = patroniPoolOf(config);
  if (!pool)
    throw new LoadTestSetupError(
      'the config uses no Patroni cluster that can be read (mode patroni-ha or patroni.enabled true, and valid patroni values)',
    );
  const found = await clusterLoadTestPool(pool, signal);
  return {
    pools: config.pools.map((p) => (p.name === 'patroni' ? found.pool : p)),
    cluster: found.follower,
  };
}

export interface FollowerAttachment {
  runs: readonly PoolRun[];
  observer: Pick<RunObserver, 'follow'>;
  signal: AbortSignal;
  applicationName: string;
  connectTimeoutMs: number;
}

export class ClusterFollower {
  readonly timeoutS: number;
  /** host:port → member name, from every REST answer of the run. */
  private readonly members = new Map<string, string>();
  private readonly leaders: FailoverReport['leaders'] = [];
  private current: { name: string; target: ConnectionTarget };
  private relocating?: Promise<void>;
  /** Gave up finding a new leader once: the run goes on without following (and its window says so). */
  private gaveUp = false;
  private burst?: ReconnectBurst;
  private attached?: FollowerAttachment;

  constructor(
    private readonly pool: ResolvedPool,
    found: LeaderFound,
  ) {
    this.timeoutS = patroniSettings(pool.declaration).failoverTimeoutS;
    this.current = { name: found.leader.name, target: found.target };
    this.learn(found);
    this.leaders.push({ member: found.leader.name, server: serverKey(found.target), since: Date.now() });
  }

  /** The run's pools, observer and signal: from here on failures move the run. */
  attach(attachment: FollowerAttachment): void {
    this.attached = attachment;
    for (const run of attachment.runs) run.query = LEADER_QUERY;
  }

  /** An agent failed: when it looks like a lost leader, look for the new one (once at a time). */
  readonly onAgentFailure = (result: AgentResult): void => {
    if (result.failure && isFailoverClass(result.failure.class)) void this.relocate();
  };

  /** Before each phase: wait for a search in progress, so no round is spent on a lost leader. */
  readonly beforePhase = async (): Promise<void> => {
    await this.relocating;
  };

  relocate(): Promise<void> {
    if (this.gaveUp || !this.attached) return Promise.resolve();
    this.relocating ??= this.findNewLeader().finally(() => {
      this.relocating = undefined;
    });
    return this.relocating;
  }

  /** Asks the REST API until a member leads that answers as leader, within twice failoverTimeout. */
  private async findNewLeader(): Promise<void> {
    const { signal } = this.attached!;
    const deadline = Date.now() + 2 * this.timeoutS * 1000;
    while (!signal.aborted && Date.now() < deadline) {
      const found = await findLeader(this.pool, signal);
      if (found.ok) {
        this.learn(found);
        if (found.leader.name !== this.current.name) return this.moveTo(found);
        // The same leader: a passing failure, or the REST API has not seen the loss yet.
        if (await this.answersAsLeader(found.target)) return;
      }
      await pause(RELOCATE_POLL_MS, signal);
    }
    if (!signal.aborted) this.gaveUp = true;
  }

  private learn(found: LeaderFound): void {
    for (const m of found.view.state.members) this.members.set(`${m.host}:${m.port}`, m.name);
  }

  private async answersAsLeader(target: ConnectionTarget): Promise<boolean> {
    const { signal, applicationName, connectTimeoutMs } = this.attached!;
    try {
      const client = await openConnection(target, { connectTimeoutMs, applicationName, signal });
      try {
        await client.query(LEADER_QUERY);
        return true;
      } finally {
        await closeConnection(client);
      }
    } catch {
      return false;
    }
  }

  /** Every pool to the new leader, its observer, then the reconnect burst. */
  private async moveTo(found: LeaderFound): Promise<void> {
    const { runs, observer } = this.attached!;
    this.current = { name: found.leader.name, target: found.target };
    this.leaders.push({ member: found.leader.name, server: serverKey(found.target), since: Date.now() });
    for (const run of runs) run.connector.retarget({ ...run.connector.currentTarget(), ...hostOf(found) });
    await observer.follow(serverKey(found.target), { pool: { ...this.pool, target: found.target } });
    this.burst ??= await this.reconnectBurst(found);
  }

  /** Every pool opens its connections at once on the new leader; they go back to the pools warm. */
  private async reconnectBurst(found: LeaderFound): Promise<ReconnectBurst> {
    const { runs, signal, connectTimeoutMs } = this.attached!;
    const before = await probeServer(found.target, { connectTimeoutMs, signal });
    const t0 = performance.now();
    const wanted = runs.map((r) => Math.min(r.agents, r.pool.poolSize ?? r.agents));
    const outcomes = await Promise.all(
      runs.flatMap((r, i) =>
        Array.from({ length: wanted[i]! }, () =>
          r.connector.acquire().then(
            (lease: Lease) => ({ r, lease }),
            (error: unknown) => ({ r, failure: classifyFailure(error, r.pool.target.password).class }),
          ),
        ),
      ),
    );
    const refusals: Record<string, number> = {};
    let admitted = 0;
    for (const o of outcomes) {
      if ('lease' in o) {
        admitted++;
        o.r.connector.release(o.lease);
      } else refusals[o.failure] = (refusals[o.failure] ?? 0) + 1;
    }
    return {
      member: found.leader.name,
      wanted: wanted.reduce((a, b) => a + b, 0),
      admitted,
      refusals,
      ...(before.ok ? { otherClients: before.facts.usedByOthers } : {}),
      wallMs: Math.round(performance.now() - t0),
    };
  }

  /** The report's failover section from every agent's outcome. */
  report(results: readonly AgentResult[], endedAt: number): FailoverReport {
    // An agent whose query answered before its connection was lost did work on that member then.
    const events = results.flatMap((r) => [
      ...(r.answeredAt !== undefined ? [{ at: r.answeredAt, ok: true, server: r.server }] : []),
      ...(r.at === undefined
        ? []
        : [{ at: r.at, ok: r.ok, server: r.server, failureClass: r.failure?.class }]),
    ]);
    const window = computeFailoverWindow(events, (server) => (server ? this.members.get(server) : undefined));
    return failoverReport(
      {
        timeoutS: this.timeoutS,
        leaders: this.leaders,
        ...(window ? { window } : {}),
        ...(this.burst ? { reconnectBurst: this.burst } : {}),
      },
      endedAt,
    );
  }
}

function hostOf(found: LeaderFound): { host: string; port: number } {
  return { host: found.target.host, port: found.target.port };
}
