import type { PoolCapacitySettings } from '../../../shared/settings';
import type { LoadedConfig } from '../config/loadConfig';
import { probedPools } from '../config/loadConfig';
import type { PoolName, ResolvedPool } from '../config/poolConfig';
import { serverKey } from '../db/connectionTarget';
import type { PoolerLimits } from './poolerFacts';
import type { DiagnosticCode, PoolDiagnostic, PoolOutcomes, Severity } from './rules';
import { usableSlots } from './serverBudget';
import type { ServerFacts } from './serverFacts';

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
