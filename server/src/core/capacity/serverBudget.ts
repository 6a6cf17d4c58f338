/**
 * The one budget judgement: how the pools that reach one server (or one PgBouncer) share what it can
 * give them now. Diagnostics, hover, quick fixes, the capacity report, the status bar level and the
 * load-test safety check all render a budget from here; nothing else adds up slots.
 */
import type { PoolName } from '../config/poolConfig';
import type { ConnectionTarget } from '../connection/connectionTarget';
import { serverKey } from '../connection/connectionTarget';
import type { PoolerLimits } from './poolerFacts';
import type { ServerFacts } from './serverFacts';

/** One pool's demand on a server: its size, the role and database it connects as, and its probe's facts. */
export interface BudgetPool {
  name: PoolName;
  poolSize: number;
  user: string;
  database: string;
  facts: ServerFacts;
}

/** A pool with a valid size and the facts its server gave for its role and database. */
export interface MeasuredPool {
  pool: { name: PoolName; poolSize: number; target: ConnectionTarget };
  facts: ServerFacts;
}

/** How many slots must stay free: max(ceil(ratio x slots), min). */
export interface HeadroomRule {
  ratio: number;
  /** At least this many (the load-test safety margin has a floor; the diagnostics' headroom has none). */
  min?: number;
}

export type BudgetVerdict = 'ok' | 'low-headroom' | 'exceeds';

/**
 * One sum the pool sizes must fit: the server's free slots (with the headroom kept), a role's or a
 * database's CONNECTION LIMIT, or PgBouncer's max_client_conn (with the headroom kept).
 */
export interface BudgetConstraint {
  kind: 'server' | 'role' | 'database' | 'pooler';
  /** host:port for server and pooler, the role's or database's name for limits. */
  name: string;
  /** Slots the pools in this sum can take now. */
  available: number;
  /** Slots that must stay free on top (the headroom; 0 for role and database limits). */
  keepFree: number;
  pools: PoolName[];
  /** Sum of those pools' sizes. */
  need: number;
  /** For role and database limits: the CONNECTION LIMIT and what others use of it. */
  limit?: number;
  inUse?: number;
  /** need > available: some connection would be refused. */
  exceeded: boolean;
  /** Fits, but leaves less than keepFree. */
  tight: boolean;
  /**
   * The pools whose reduction alone can clear this sum (the others as they are); when none can, every
   * pool in it. The findings sit on these; the rest of the sum is related information.
   */
  carriers: PoolName[];
}

/** A role's or a database's CONNECTION LIMIT as shared by the pools that use it. */
export type LimitBudget = BudgetConstraint & { kind: 'role' | 'database'; limit: number; inUse: number };

/** What the budget says about one pool. */
export interface PoolBudget {
  name: PoolName;
  poolSize: number;
  user: string;
  database: string;
  /**
   * The largest size of this pool alone, the other pools as they are, that keeps the headroom and
   * every limit it is under; undefined when not even 1 fits (the others already take everything).
   */
  largestAlone?: number;
  /** Connections the server can give this pool now while the others hold theirs (never more than its size). */
  attainable: number;
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
  /** max(0, usable - usedByOthers) */
  free: number;
  /** Sum of the pool sizes on this server. */
  poolsTotal: number;
  /** free - poolsTotal (negative when the pools need more than is free) */
  freeAfter: number;
  /** Slots that must stay free by the headroom rule. */
  headroomSlots: number;
  verdict: BudgetVerdict;
  /** How many connections the pools must give up to keep every limit and the headroom (0 when ok). */
  shortBy: number;
  pools: PoolBudget[];
  /** The server's own sum first, then role and database limits (superusers are exempt from both). */
  constraints: BudgetConstraint[];
  limits: LimitBudget[];
  /** Connections the server can give all pools together now (never more than their sizes). */
  attainableTotal: number;
  /** Sizes for every pool at once that keep the headroom and every limit; undefined when none do. */
  resizeAll?: Partial<Record<PoolName, number>>;
  /**
   * The smallest max_connections at which the current sizes fit with the headroom (the role's
   * reserved slots and the other clients as now); undefined when it fits or a role/database limit binds.
   */
  maxConnectionsToFit?: number;
  /** The oldest of the facts used. */
  readAt: number;
  serverVersion: string;
  usageVisibility: ServerFacts['usageVisibility'];
}

/** Slots a role may use at all on a server. */
export function usableSlots(facts: ServerFacts): number {
  if (facts.isSuperuser) return facts.maxConnections;
  const reservedForOthers = facts.mayUseReserved ? 0 : facts.reserved;
  return Math.max(0, facts.maxConnections - facts.superuserReserved - reservedForOthers);
}

/**
 * A server's slots as several probes (one per role) saw them: the least privileged role meets a
 * refusal first, and each probe saw the others' connections at a slightly different moment, so the
 * most any saw counts.
 */
export function serverSlots(facts: readonly ServerFacts[]): {
  usable: number;
  usedByOthers: number;
  free: number;
} {
  const usable = Math.min(...facts.map(usableSlots));
  const usedByOthers = Math.max(...facts.map((f) => f.usedByOthers));
  return { usable, usedByOthers, free: Math.max(0, usable - usedByOthers) };
}

export function headroomSlots(slots: number, rule: HeadroomRule): number {
  return Math.max(Math.ceil(rule.ratio * slots), rule.min ?? 0);
}

/** Groups pools by host:port; pools on different servers are judged separately. */
export function groupByServer<T extends { pool: { target: ConnectionTarget } }>(
  pools: T[],
): Map<string, T[]> {
  const groups = new Map<string, T[]>();
  for (const measured of pools) {
    const key = serverKey(measured.pool.target);
    groups.set(key, [...(groups.get(key) ?? []), measured]);
  }
  return groups;
}

export function budgetPool(measured: MeasuredPool): BudgetPool {
  return {
    name: measured.pool.name,
    poolSize: measured.pool.poolSize,
    user: measured.pool.target.user,
    database: measured.pool.target.database,
    facts: measured.facts,
  };
}

/** The budget of the pools on one PostgreSQL server. */
export function serverBudget(key: string, pools: readonly BudgetPool[], rule: HeadroomRule): ServerBudget {
  if (pools.length === 0) throw new Error('serverBudget needs at least one pool');
  const facts = pools.map((p) => p.facts);
  const { usable, usedByOthers, free } = serverSlots(facts);
  const first = facts[0]!;
  const poolsTotal = sum(pools.map((p) => p.poolSize));
  const keep = headroomSlots(usable, rule);
  const server = constraint('server', key, free, keep, pools);
  const limits = sharedLimits(pools);
  const judged = judge(pools, [server, ...limits]);

  // The max_connections that fits the current sizes: only the server's own sum can be lifted by it.
  let maxConnectionsToFit: number | undefined;
  if (server.need > server.available - server.keepFree && limits.every((l) => !l.exceeded)) {
    const reservedForRole = first.maxConnections - usableSlots(first);
    maxConnectionsToFit = smallestFitting(first.maxConnections, (m) => {
      const u = m - reservedForRole;
      return u - usedByOthers - headroomSlots(u, rule) >= poolsTotal;
    });
  }

  return {
    serverKey: key,
    maxConnections: first.maxConnections,
    superuserReserved: first.superuserReserved,
    reserved: first.reserved,
    usable,
    usedByOthers,
    free,
    poolsTotal,
    freeAfter: free - poolsTotal,
    headroomSlots: keep,
    ...judged,
    constraints: [server, ...limits],
    limits,
    maxConnectionsToFit,
    readAt: Math.min(...facts.map((f) => f.readAt)),
    serverVersion: first.serverVersion,
    usageVisibility: facts.every((f) => f.usageVisibility === 'all roles') ? 'all roles' : 'by name',
  };
}

/** The budget of the pools that reach PostgreSQL through one PgBouncer. */
export interface PoolerBudget {
  serverKey: string;
  poolsTotal: number;
  backendPort: number | null;
  /** Absent when the role may not read PgBouncer's admin console: then nothing can be judged. */
  limits?: PoolerLimits;
  limitsUnreadable?: string;
  pools: PoolBudget[];
  /** max(0, max_client_conn - other clients) */
  clientsAvailable?: number;
  headroomSlots?: number;
  verdict?: BudgetVerdict;
  shortBy?: number;
  constraints: BudgetConstraint[];
  attainableTotal?: number;
  resizeAll?: Partial<Record<PoolName, number>>;
  /** The smallest max_client_conn at which the current sizes fit with the headroom (other clients as now). */
  maxClientConnToFit?: number;
  /** Server connections PgBouncer may open to PostgreSQL for these pools, and what PostgreSQL has free for them. */
  serverNeed?: number;
  serverFree?: number;
  readAt: number;
}

/**
 * Behind PgBouncer every client connection counts against max_client_conn; PgBouncer itself opens
 * at most pool_size (+ reserve) server connections per user and database, never more than its
 * clients ask for, and those must fit PostgreSQL's free slots.
 */
export function poolerBudget(key: string, pools: readonly BudgetPool[], rule: HeadroomRule): PoolerBudget {
  if (pools.length === 0) throw new Error('poolerBudget needs at least one pool');
  const pooler = pools[0]!.facts.pooler!;
  const poolsTotal = sum(pools.map((p) => p.poolSize));
  const base: PoolerBudget = {
    serverKey: key,
    poolsTotal,
    backendPort: pooler.backendPort,
    limitsUnreadable: pooler.limitsUnreadable,
    pools: pools.map((p) => ({
      name: p.name,
      poolSize: p.poolSize,
      user: p.user,
      database: p.database,
      attainable: p.poolSize,
    })),
    constraints: [],
    readAt: Math.min(...pools.map((p) => p.facts.readAt)),
  };
  const limits = pools.find((p) => p.facts.pooler?.limits)?.facts.pooler?.limits;
  if (!limits) return base;
  const clientsAvailable = Math.max(0, limits.maxClientConn - limits.otherClients);
  const keep = headroomSlots(limits.maxClientConn, rule);
  const clients = constraint('pooler', key, clientsAvailable, keep, pools);
  const judged = judge(pools, [clients]);

  const pairs = new Map<string, { need: number; facts: ServerFacts }>();
  for (const p of pools) {
    const pair = `${p.user}\0${p.database}`;
    const entry = pairs.get(pair) ?? { need: 0, facts: p.facts };
    entry.need += p.poolSize;
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
    serverFree = Math.min(serverFree, serverSlots([facts]).usable - facts.usedByOthers + l.serverConnections);
  }
  let maxClientConnToFit: number | undefined;
  if (judged.verdict !== 'ok')
    maxClientConnToFit = smallestFitting(
      limits.maxClientConn,
      (m) => m - limits.otherClients - headroomSlots(m, rule) >= poolsTotal,
    );
  return {
    ...base,
    limits,
    clientsAvailable,
    maxClientConnToFit,
    headroomSlots: keep,
    ...judged,
    constraints: [clients],
    serverNeed,
    serverFree: Math.max(0, serverFree),
  };
}

/** The smallest setting above `current` for which `fits` holds (it holds from some point on: the headroom grows slower than the setting). */
function smallestFitting(current: number, fits: (value: number) => boolean): number | undefined {
  for (let m = current + 1; m <= current + 1_000_000; m++) if (fits(m)) return m;
  return undefined;
}

function sum(values: readonly number[]): number {
  return values.reduce((a, b) => a + b, 0);
}

function constraint(
  kind: BudgetConstraint['kind'],
  name: string,
  available: number,
  keepFree: number,
  pools: readonly BudgetPool[],
  extra: { limit?: number; inUse?: number } = {},
): BudgetConstraint {
  const need = sum(pools.map((p) => p.poolSize));
  return {
    kind,
    name,
    available,
    keepFree,
    pools: pools.map((p) => p.name),
    need,
    ...extra,
    exceeded: need > available,
    tight: need <= available && available - need < keepFree,
    carriers: [],
  };
}

function sharedLimits(pools: readonly BudgetPool[]): LimitBudget[] {
  const groups = new Map<
    string,
    { kind: 'role' | 'database'; name: string; limit: number; inUse: number; pools: BudgetPool[] }
  >();
  const add = (kind: 'role' | 'database', name: string, limit: number, inUse: number, p: BudgetPool) => {
    const key = `${kind}:${name}`;
    const group = groups.get(key) ?? { kind, name, limit, inUse, pools: [] };
    group.inUse = Math.max(group.inUse, inUse);
    group.pools.push(p);
    groups.set(key, group);
  };
  for (const p of pools) {
    if (p.facts.isSuperuser) continue;
    if (p.facts.roleLimit >= 0) add('role', p.user, p.facts.roleLimit, p.facts.roleInUse, p);
    if (p.facts.databaseLimit >= 0)
      add('database', p.database, p.facts.databaseLimit, p.facts.databaseInUse, p);
  }
  return [...groups.values()].map(
    (g) =>
      constraint(g.kind, g.name, Math.max(0, g.limit - g.inUse), 0, g.pools, {
        limit: g.limit,
        inUse: g.inUse,
      }) as LimitBudget,
  );
}

/**
 * The verdict, per-pool sizes and a resize of every pool, from the sums the sizes must fit. Fills
 * each constraint's carriers. The sizes offered are checked against the same sums before they are
 * offered, so a fix holds when applied.
 */
function judge(
  pools: readonly BudgetPool[],
  constraints: BudgetConstraint[],
): Pick<ServerBudget, 'verdict' | 'shortBy' | 'pools' | 'attainableTotal' | 'resizeAll'> {
  const sizes = new Map(pools.map((p) => [p.name, p.poolSize]));
  const verdict: BudgetVerdict = constraints.some((c) => c.exceeded)
    ? 'exceeds'
    : constraints.some((c) => c.tight)
      ? 'low-headroom'
      : 'ok';
  const shortBy = Math.max(0, ...constraints.map((c) => c.need - (c.available - c.keepFree)));
  // A pool alone: every sum it is in must fit with the others in that sum as they are.
  const roomAlone = (name: PoolName, hard: boolean) =>
    Math.min(
      ...constraints
        .filter((c) => c.pools.includes(name))
        .map((c) => c.available - (hard ? 0 : c.keepFree) - (c.need - sizes.get(name)!)),
    );
  for (const c of constraints) {
    if (!c.exceeded && !c.tight) continue;
    const able = c.pools.filter((n) => c.available - c.keepFree - (c.need - sizes.get(n)!) >= 1);
    c.carriers = able.length > 0 ? able : [...c.pools];
  }
  const budgets: PoolBudget[] = pools.map((p) => {
    const largest = roomAlone(p.name, false);
    return {
      name: p.name,
      poolSize: p.poolSize,
      user: p.user,
      database: p.database,
      ...(largest >= 1 ? { largestAlone: largest } : {}),
      attainable: Math.max(0, Math.min(p.poolSize, roomAlone(p.name, true))),
    };
  });
  const poolsTotal = sum(pools.map((p) => p.poolSize));
  const attainableTotal = Math.max(
    0,
    Math.min(poolsTotal, ...constraints.map((c) => poolsTotal - c.need + c.available)),
  );
  return {
    verdict,
    shortBy,
    pools: budgets,
    attainableTotal,
    resizeAll: verdict === 'ok' ? undefined : resizeAll(pools, constraints),
  };
}

/**
 * Every pool at once: each sum that is over shrinks its own pools in proportion to their sizes until
 * it keeps its headroom (pools in no failing sum keep their size); then, for rounding and sums that
 * overlap, one slot at a time from the largest pool of a sum still over. Undefined when even 1 each
 * cannot fit.
 */
function resizeAll(
  pools: readonly BudgetPool[],
  constraints: readonly BudgetConstraint[],
): Partial<Record<PoolName, number>> | undefined {
  const sizes = new Map(pools.map((p) => [p.name, p.poolSize]));
  const total = (c: BudgetConstraint) => sum(c.pools.map((n) => sizes.get(n)!));
  const room = (c: BudgetConstraint) => c.available - c.keepFree;
  for (const c of constraints) {
    const need = total(c);
    if (need <= room(c)) continue;
    for (const n of c.pools)
      sizes.set(n, Math.max(1, Math.floor((Math.max(0, room(c)) * sizes.get(n)!) / need)));
  }
  // Bounded: every step lowers a size that is above 1.
  for (let step = 0; step <= sum(pools.map((p) => p.poolSize)); step++) {
    const over = constraints.find((c) => total(c) > room(c));
    if (!over) return Object.fromEntries(sizes) as Partial<Record<PoolName, number>>;
    const largest = [...over.pools].sort((a, b) => sizes.get(b)! - sizes.get(a)!)[0]!;
    if (sizes.get(largest)! <= 1) return undefined;
    sizes.set(largest, sizes.get(largest)! - 1);
  }
  return undefined;
}
