import type { PoolName, ResolvedPool } from '../config/poolConfig';
import { serverKey } from '../db/connectionTarget';
import type { ServerFacts } from './serverFacts';

/** A pool with a valid size and the facts its server gave for its role and database. */
export interface MeasuredPool {
  pool: ResolvedPool & { poolSize: number };
  facts: ServerFacts;
}

/** A role's or a database's CONNECTION LIMIT as shared by the pools that use it. */
export interface LimitBudget {
  kind: 'role' | 'database';
  name: string;
  limit: number;
  /** Connections of that role/database that are not ours. */
  inUse: number;
  /** limit - inUse */
  available: number;
  pools: PoolName[];
  need: number;
}

/** How the pools that reach one server share its slots. */
export interface ServerBudget {
  serverKey: string;
  maxConnections: number;
  superuserReserved: number;
  reserved: number;
  /** Slots the pools' roles may take at all: max_connections less what is reserved for others. */
  usable: number;
  usedByOthers: number;
  /** usable - usedByOthers */
  free: number;
  /** Sum of the pool sizes on this server. */
  poolsTotal: number;
  /** free - poolsTotal */
  freeAfter: number;
  /** Slots that must stay free by the headroom threshold: ceil(threshold * usable). */
  headroomSlots: number;
  pools: { name: PoolName; poolSize: number; user: string; database: string }[];
  /** Role and database limits that apply (superusers are exempt from both). */
  limits: LimitBudget[];
  /** The largest size per pool that keeps the headroom; pools split it in proportion to their sizes. */
  suggestedSizes: Partial<Record<PoolName, number>>;
  /** The oldest of the facts used. */
  readAt: number;
  serverVersion: string;
}

/** Slots a role may use at all on a server. */
export function usableSlots(facts: ServerFacts): number {
  if (facts.isSuperuser) return facts.maxConnections;
  const reservedForOthers = facts.mayUseReserved ? 0 : facts.reserved;
  return Math.max(0, facts.maxConnections - facts.superuserReserved - reservedForOthers);
}

/** Groups pools by host:port; pools on different servers are judged separately. */
export function groupByServer(pools: MeasuredPool[]): Map<string, MeasuredPool[]> {
  const groups = new Map<string, MeasuredPool[]>();
  for (const measured of pools) {
    const key = serverKey(measured.pool.target);
    groups.set(key, [...(groups.get(key) ?? []), measured]);
  }
  return groups;
}

export function serverBudget(pools: MeasuredPool[], headroomThreshold: number): ServerBudget {
  if (pools.length === 0) throw new Error('serverBudget needs at least one pool');
  // Judge by the least privileged role among the pools: that is where a refusal would come first.
  const facts = pools.map((p) => p.facts);
  const usable = Math.min(...facts.map(usableSlots));
  // Each probe saw the others' connections at a slightly different moment; take the largest.
  const usedByOthers = Math.max(...facts.map((f) => f.usedByOthers));
  const first = facts[0]!;
  const free = Math.max(0, usable - usedByOthers);
  const poolsTotal = pools.reduce((sum, p) => sum + p.pool.poolSize, 0);
  const headroomSlots = Math.ceil(headroomThreshold * usable);
  const limits = sharedLimits(pools);

  // The budget for all pools together: what keeps the headroom, and no more than any limit allows.
  let allowedTotal = free - headroomSlots;
  for (const limit of limits) {
    const others = poolsTotal - limit.need;
    allowedTotal = Math.min(allowedTotal, limit.available + others);
  }
  const suggestedSizes: Partial<Record<PoolName, number>> = {};
  for (const p of pools) {
    const share = Math.floor((allowedTotal * p.pool.poolSize) / poolsTotal);
    suggestedSizes[p.pool.name] = Math.max(1, share);
  }
  // Limits shared by a subset must hold for the suggested sizes too.
  for (const limit of limits) {
    const total = limit.pools.reduce((sum, name) => sum + (suggestedSizes[name] ?? 0), 0);
    if (total > limit.available && total > 0) {
      for (const name of limit.pools) {
        const size = suggestedSizes[name] ?? 0;
        suggestedSizes[name] = Math.max(1, Math.floor((limit.available * size) / total));
      }
    }
  }

  return {
    serverKey: serverKey(pools[0]!.pool.target),
    maxConnections: first.maxConnections,
    superuserReserved: first.superuserReserved,
    reserved: first.reserved,
    usable,
    usedByOthers,
    free,
    poolsTotal,
    freeAfter: free - poolsTotal,
    headroomSlots,
    pools: pools.map((p) => ({
      name: p.pool.name,
      poolSize: p.pool.poolSize,
      user: p.pool.target.user,
      database: p.pool.target.database,
    })),
    limits,
    suggestedSizes,
    readAt: Math.min(...facts.map((f) => f.readAt)),
    serverVersion: first.serverVersion,
  };
}

function sharedLimits(pools: MeasuredPool[]): LimitBudget[] {
  const limits = new Map<string, LimitBudget>();
  const add = (kind: LimitBudget['kind'], name: string, limit: number, inUse: number, p: MeasuredPool) => {
    const key = `${kind}:${name}`;
    const existing = limits.get(key);
    if (existing) {
      existing.pools.push(p.pool.name);
      existing.need += p.pool.poolSize;
      existing.inUse = Math.max(existing.inUse, inUse);
      existing.available = Math.max(0, existing.limit - existing.inUse);
    } else {
      limits.set(key, {
        kind,
        name,
        limit,
        inUse,
        available: Math.max(0, limit - inUse),
        pools: [p.pool.name],
        need: p.pool.poolSize,
      });
    }
  };
  for (const p of pools) {
    if (p.facts.isSuperuser) continue;
    if (p.facts.roleLimit >= 0) add('role', p.pool.target.user, p.facts.roleLimit, p.facts.roleInUse, p);
    if (p.facts.databaseLimit >= 0)
      add('database', p.pool.target.database, p.facts.databaseLimit, p.facts.databaseInUse, p);
  }
  return [...limits.values()];
}
