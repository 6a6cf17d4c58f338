/**
 * The capacity dashboard's bars: where each server's `max_connections` (and each PgBouncer's
 * `max_client_conn`) goes, read off the capacity plan's budgets (the same judgement as the
 * diagnostics). Nothing here adds up slots of its own beyond splitting the budget's figures.
 */
import type { BarSegment, CapacityBar, CapacityView } from '../../../../shared/dashboard';
import {
  type CapacityPlan,
  formatCapacityReport,
  type PoolerCapacity,
  type ServerCapacity,
} from '../capacity/capacityReport';
import { describeConnectFailure } from '../connection/connectFailure';

const OK_WORDS = (free: number, headroom: number) =>
  `OK: the pools fit; ${free} slots stay free, ${headroom} of them kept as headroom`;

export function serverBar(server: ServerCapacity): CapacityBar {
  const b = server.budget;
  const reserved = b.maxConnections - b.usable;
  const others = Math.min(b.usedByOthers, b.usable);
  const segments: BarSegment[] = [];
  if (reserved > 0)
    segments.push({
      kind: 'reserved',
      label: `reserved (superuser_reserved_connections ${b.superuserReserved}${b.reserved > 0 ? `, reserved_connections ${b.reserved}` : ''})`,
      slots: reserved,
    });
  if (others > 0) segments.push({ kind: 'others', label: 'used by other clients', slots: others });
  // The pools fill what is free in order; what they need past it is drawn past the limit.
  let room = b.free;
  let over = 0;
  for (const pool of b.pools) {
    const inside = Math.min(pool.poolSize, room);
    room -= inside;
    over += pool.poolSize - inside;
    if (inside > 0) segments.push({ kind: 'pool', label: `${pool.name} pool`, slots: inside });
  }
  if (room > 0) segments.push({ kind: 'free', label: 'free', slots: room });
  if (over > 0) segments.push({ kind: 'over', label: 'needed past the limit', slots: over });
  return {
    kind: 'server',
    serverKey: b.serverKey,
    title: `PostgreSQL ${b.serverVersion} on ${b.serverKey}`,
    limit: b.maxConnections,
    limitName: 'max_connections',
    segments,
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
  let room = b.clientsAvailable ?? 0;
  let over = 0;
  for (const pool of b.pools) {
    const inside = Math.min(pool.poolSize, room);
    room -= inside;
    over += pool.poolSize - inside;
    if (inside > 0) segments.push({ kind: 'pool', label: `${pool.name} pool`, slots: inside });
  }
  if (room > 0) segments.push({ kind: 'free', label: 'free', slots: room });
  if (over > 0) segments.push({ kind: 'over', label: 'needed past the limit', slots: over });
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

/** The dashboard's capacity view of one config's plan. */
export function capacityView(plan: CapacityPlan, configLabel: string, now = new Date()): CapacityView {
  return {
    configLabel,
    targetAgents: plan.targetAgents,
    bars: [...plan.servers.map(serverBar), ...plan.poolers.map(poolerBar)],
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
