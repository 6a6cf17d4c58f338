import type { PoolCapacitySettings } from '../../../shared/settings';
import type { LoadedConfig } from '../config/loadConfig';
import type { OffsetRange } from '../config/poolConfig';
import { FAILURE_LABELS } from '../db/connectFailure';
import { describeTarget, serverKey } from '../db/connectionTarget';
import { poolerBudgets } from './poolerRules';
import { type PoolOutcomes, serverBudgets } from './rules';

/** Markdown for a hover on a pool size (or a pool's key): the live numbers behind the diagnostics. */
export function poolHover(
  config: LoadedConfig,
  outcomes: PoolOutcomes,
  settings: PoolCapacitySettings,
  offset: number,
  connectAllowed: boolean,
  now = Date.now(),
): { markdown: string; range: OffsetRange } | undefined {
  const inside = (range: OffsetRange | undefined) => range && offset >= range.start && offset <= range.end;
  const pool = config.pools.find((p) => inside(p.declaration.size?.range) || inside(p.declaration.keyRange));
  if (!pool) return undefined;
  const range = inside(pool.declaration.size?.range)
    ? pool.declaration.size!.range
    : pool.declaration.keyRange;
  const lines = [`**Pool Capacity — ${pool.name} pool**`, ''];
  lines.push(`Connects to \`${describeTarget(pool.target)}\` · pool size ${pool.poolSize ?? 'not set'}`, '');
  const outcome = outcomes[pool.name];
  if (pool.name === 'patroni') {
    lines.push('The patroni block names REST API hosts; its sizes are checked for validity only.');
  } else if (!connectAllowed) {
    lines.push('Not connected: this workspace is not trusted, so Pool Capacity reads no server.');
  } else if (!outcome) {
    lines.push('Reading the server…');
  } else if (!outcome.ok) {
    lines.push(`Cannot connect: ${FAILURE_LABELS[outcome.failure.class]} — ${outcome.failure.message}`);
  } else {
    const facts = outcome.facts;
    const budget = serverBudgets(config, outcomes, settings).find(
      (b) => b.serverKey === serverKey(pool.target),
    );
    const row = (label: string, value: string | number) => `| ${label} | ${value} |`;
    const pooler = poolerBudgets(config, outcomes, settings).find(
      (b) => b.serverKey === serverKey(pool.target),
    );
    if (pooler) {
      lines.push(
        `Through **PgBouncer** at \`${pooler.serverKey}\` to PostgreSQL on ${pooler.backendPort ?? 'a Unix socket'}.`,
        '',
      );
      if (pooler.limits) {
        lines.push('| PgBouncer | |', '|---|---:|');
        lines.push(row('max_client_conn', pooler.limits.maxClientConn));
        lines.push(row('other clients', pooler.limits.otherClients));
        lines.push(
          row(`pools on this PgBouncer (${pooler.pools.map((p) => p.name).join(' + ')})`, pooler.poolsTotal),
        );
        lines.push(row('pool_mode', pooler.limits.poolMode));
        lines.push(
          row('server pool_size + reserve', `${pooler.limits.poolSize} + ${pooler.limits.reservePool}`),
        );
        lines.push(
          row(
            'server connections it may open / PostgreSQL has free',
            `${pooler.serverNeed} / ${pooler.serverFree}`,
          ),
        );
        lines.push('');
      } else {
        lines.push(`_${pooler.limitsUnreadable}_`, '');
      }
    }
    lines.push('| PostgreSQL | |', '|---|---:|');
    lines.push(row('max_connections', facts.maxConnections));
    lines.push(row('reserved for superusers', facts.superuserReserved));
    if (facts.reserved > 0) lines.push(row('reserved_connections', facts.reserved));
    lines.push(row('used by other clients', facts.usedByOthers));
    if (budget) {
      lines.push(row('free for this role', budget.free));
      lines.push(
        row(`pools on this server (${budget.pools.map((p) => p.name).join(' + ')})`, budget.poolsTotal),
      );
      const percent = budget.usable > 0 ? Math.round((100 * budget.freeAfter) / budget.usable) : 0;
      lines.push(
        row('headroom after the pools', `${budget.freeAfter} (${percent}% of ${budget.usable} usable)`),
      );
      const suggested = budget.suggestedSizes[pool.name];
      if (suggested !== undefined) lines.push(row('largest size keeping the headroom', suggested));
    }
    if (facts.roleLimit >= 0)
      lines.push(
        row(`role ${pool.target.user} CONNECTION LIMIT`, `${facts.roleLimit} (${facts.roleInUse} in use)`),
      );
    if (facts.databaseLimit >= 0)
      lines.push(
        row(
          `database ${pool.target.database} CONNECTION LIMIT`,
          `${facts.databaseLimit} (${facts.databaseInUse} in use)`,
        ),
      );
    lines.push(row('target agents', `${config.targetAgents} (${config.targetAgentsSource})`));
    const age = Math.max(0, Math.round((now - facts.readAt) / 1000));
    lines.push(
      '',
      `PostgreSQL ${facts.serverVersion}${facts.isSuperuser ? ' · superuser role' : ''} · read ${age} s ago (${new Date(facts.readAt).toISOString()})`,
    );
    if (facts.usageVisibility !== 'all roles') lines.push('', '_Usage counted without pg_read_all_stats._');
  }
  return { markdown: lines.join('\n'), range };
}
