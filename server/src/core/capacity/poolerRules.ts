import type { PoolCapacitySettings } from '../../../../shared/settings';
import type { LoadedConfig } from '../config/loadedConfig';
import { probedPools } from '../config/loadedConfig';
import { serverKey } from '../connection/connectionTarget';
import { budgetFindings } from './budgetFindings';
import type { PoolDiagnostic, PoolOutcomes } from './rules';
import {
  budgetPool,
  groupByServer,
  type MeasuredPool,
  type PoolerBudget,
  poolerBudget,
} from './serverBudget';

export type { PoolerBudget } from './serverBudget';

/**
 * The budget of each PgBouncer the pools reach, once every probed pool on it has answered (as
 * serverBudgets does for PostgreSQL).
 */
export function poolerBudgets(
  config: LoadedConfig,
  outcomes: PoolOutcomes,
  settings: Pick<PoolCapacitySettings, 'headroomThreshold'>,
): PoolerBudget[] {
  const waiting = new Set<string>();
  const measured: MeasuredPool[] = [];
  for (const pool of probedPools(config)) {
    const outcome = outcomes[pool.name];
    if (!outcome) waiting.add(serverKey(pool.target));
    else if (pool.poolSize !== undefined && outcome.ok && outcome.facts.pooler)
      measured.push({ pool: pool as MeasuredPool['pool'], facts: outcome.facts });
  }
  return [...groupByServer(measured).entries()]
    .filter(([key]) => !waiting.has(key))
    .map(([key, group]) => poolerBudget(key, group.map(budgetPool), { ratio: settings.headroomThreshold }));
}

/** Findings for pools behind PgBouncer: clients against max_client_conn, its server pools against PostgreSQL. */
export function poolerDiagnostics(
  config: LoadedConfig,
  outcomes: PoolOutcomes,
  settings: PoolCapacitySettings,
  budgets: PoolerBudget[] = poolerBudgets(config, outcomes, settings),
): PoolDiagnostic[] {
  const out: PoolDiagnostic[] = [];
  const byName = new Map(config.pools.map((p) => [p.name, p]));
  for (const budget of budgets) {
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
    out.push(...budgetFindings(budget, config, true));
    const l = budget.limits;
    if (budget.serverNeed! > budget.serverFree!) {
      // PgBouncer's own server pools are set in PgBouncer, not by the pool sizes: no size fix here.
      for (const p of budget.pools) {
        const size = byName.get(p.name)?.declaration.size;
        if (!size) continue;
        out.push({
          code: 'pooler-exceeds-server',
          severity: 'warning',
          message: `PgBouncer ${budget.serverKey} may open ${budget.serverNeed} server connections > ${budget.serverFree} free on PostgreSQL (on ${backend}): pool_size ${l.poolSize} + reserve ${l.reservePool} per user and database, ${l.poolMode} mode`,
          range: size.range,
          pool: p.name,
        });
      }
    }
  }
  return out;
}
