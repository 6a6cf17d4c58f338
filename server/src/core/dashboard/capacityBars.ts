/**
 * The capacity dashboard's bars: where each server's `max_connections` (and each PgBouncer's
 * `max_client_conn`) goes, read off the capacity plan's budgets (the same judgement as the
 * diagnostics). Nothing here adds up slots of its own beyond splitting the budget's figures.
 */
import type { BarSegment, CapacityBar, CapacityView } from '../../../../shared/dashboard';
import { reservedSettings } from '../capacity/budgetFindings';
import {
  type CapacityPlan,
  formatCapacityReport,
  type PoolerCapacity,
  type ServerCapacity,
  serverCapacity,
} from '../capacity/capacityReport';
import type { ServerBudget } from '../capacity/serverBudget';
import type { ClusterCapacity, MemberCapacity } from '../cluster/patroniReport';
import { describeConnectFailure } from '../connection/connectFailure';

const OK_WORDS = (free: number, headroom: number) =>
  `OK: the pools fit; ${free} slots stay free, ${headroom} of them kept as headroom`;

/**
 * The pools fill the free slots in order; what they need past them is drawn past the limit.
 * Appends the pool, free and over segments and returns the slots left free.
 */
function fillPools(
  segments: BarSegment[],
  pools: readonly { name: string; poolSize: number }[],
  free: number,
): number {
  let room = free;
  let over = 0;
  for (const pool of pools) {
    const inside = Math.min(pool.poolSize, room);
    room -= inside;
    over += pool.poolSize - inside;
    if (inside > 0) segments.push({ kind: 'pool', label: `${pool.name} pool`, slots: inside });
  }
  if (room > 0) segments.push({ kind: 'free', label: 'free', slots: room });
  if (over > 0) segments.push({ kind: 'over', label: 'needed past the limit', slots: over });
  return room;
}

/** Where a PostgreSQL server's max_connections goes: reserved, others, each pool in order, free, past the limit. */
function serverSegments(b: ServerBudget): BarSegment[] {
  const reserved = b.maxConnections - b.usable;
  const others = Math.min(b.usedByOthers, b.usable);
  const segments: BarSegment[] = [];
  if (reserved > 0)
    segments.push({
      kind: 'reserved',
      label: `reserved (${reservedSettings(b)})`,
      slots: reserved,
    });
  if (others > 0) segments.push({ kind: 'others', label: 'used by other clients', slots: others });
  fillPools(segments, b.pools, b.free);
  return segments;
}

export function serverBar(server: ServerCapacity): CapacityBar {
  const b = server.budget;
  return {
    kind: 'server',
    serverKey: b.serverKey,
    title: `PostgreSQL ${b.serverVersion} on ${b.serverKey}`,
    limit: b.maxConnections,
    limitName: 'max_connections',
    segments: serverSegments(b),
    headroomSlots: b.headroomSlots,
    status: server.status,
    verdict: server.status === 'OK' ? [OK_WORDS(server.reserve, b.headroomSlots)] : server.statusReasons,
    remedies: server.remedies,
    usable: b.usable,
  };
}

export function poolerBar(pooler: PoolerCapacity): CapacityBar {
  const b = pooler.budget;
  const title = `PgBouncer on ${b.serverKey}`;
  if (!b.limits || !pooler.status) {
    return {
      kind: 'pooler',
      serverKey: b.serverKey,
      title,
      limit: 0,
      limitName: 'max_client_conn',
      segments: [],
      headroomSlots: 0,
      status: 'UNJUDGED',
      verdict: [`its limits cannot be read (${b.limitsUnreadable}): the pools are not judged`],
      remedies: [],
    };
  }
  const limit = b.limits.maxClientConn;
  const others = Math.min(b.limits.otherClients, limit);
  const segments: BarSegment[] = [];
  if (others > 0) segments.push({ kind: 'others', label: 'other clients', slots: others });
  const room = fillPools(segments, b.pools, b.clientsAvailable ?? 0);
  return {
    kind: 'pooler',
    serverKey: b.serverKey,
    title,
    limit,
    limitName: 'max_client_conn',
    segments,
    headroomSlots: b.headroomSlots ?? 0,
    status: pooler.status,
    verdict: pooler.status === 'OK' ? [OK_WORDS(room, b.headroomSlots ?? 0)] : pooler.statusReasons,
    remedies: pooler.remedies,
  };
}

/**
 * One bar per member of the Patroni cluster the patroni pool uses: the leader as it is, each replica
 * as if Patroni promoted it. Each bar is the member's budget from judgeCluster (the judgement behind
 * the Patroni diagnostics and the report's Member and Failover lines); the worst promotable member
 * carries the failover sentence. No remedies: ALTER SYSTEM does not apply under Patroni (its dynamic
 * config sets max_connections), and the pool's fix is the diagnostics', capped at the worst failover.
 */
export function memberBars(cluster: ClusterCapacity): CapacityBar[] {
  // The leader first (the pool's budget now), then the replicas in Patroni's order.
  const members = [...cluster.members].sort(
    (a, b) => Number(b.role === 'leader') - Number(a.role === 'leader'),
  );
  return members.map((m) => {
    const place = {
      name: m.name,
      role: m.role,
      promotable: m.promotable,
      worstFailover: m.worstFailover,
    };
    const title = `Patroni ${memberTitle(m)}`;
    if (!m.budget) {
      return {
        kind: 'member',
        serverKey: m.serverKey,
        title,
        limit: 0,
        limitName: 'max_connections',
        segments: [],
        headroomSlots: 0,
        status: 'UNJUDGED',
        verdict: [`not read (${m.unread ?? 'not read yet'}): the pool is not judged on this member`],
        remedies: [],
        member: place,
      };
    }
    const judged = serverCapacity(m.budget);
    const b = m.budget;
    const verdict =
      judged.status === 'OK' ? [OK_WORDS(judged.reserve, b.headroomSlots)] : judged.statusReasons;
    return {
      kind: 'member',
      // The budget's key is the member's label ("leader pg1 (…)"): the bar is keyed by its address.
      serverKey: m.serverKey,
      title: `${title} — PostgreSQL ${b.serverVersion}`,
      limit: b.maxConnections,
      limitName: 'max_connections',
      segments: serverSegments(b),
      headroomSlots: b.headroomSlots,
      status: judged.status,
      verdict: m.worstFailover && cluster.failover ? [...verdict, cluster.failover] : verdict,
      remedies: [],
      usable: b.usable,
      member: place,
    };
  });
}

function memberTitle(m: MemberCapacity): string {
  if (m.role === 'leader') return `leader ${m.label}`;
  const why = m.promotable
    ? 'if promoted'
    : m.nofailover
      ? 'nofailover: never promoted'
      : `${m.state}: not promotable`;
  return `${m.role} ${m.label} (${why})`;
}

/** The dashboard's capacity view of one config's plan. */
export function capacityView(plan: CapacityPlan, configLabel: string, now = new Date()): CapacityView {
  return {
    configLabel,
    targetAgents: plan.targetAgents,
    bars: [
      ...plan.servers.map(serverBar),
      ...plan.poolers.map(poolerBar),
      ...(plan.cluster ? memberBars(plan.cluster) : []),
    ],
    unreachable: plan.unreachable.map(
      (u) => `${u.name} pool: ${describeConnectFailure(u.server, u.failure)}`,
    ),
    // The report's own planning lines, so the picture and the text never differ.
    planning: formatCapacityReport(plan)
      .split('\n')
      .filter((line) => line.startsWith('Planning'))
      .map((line) => line.slice('Planning'.length).trim()),
    readAt: now.toISOString(),
  };
}
