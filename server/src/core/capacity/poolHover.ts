import type { PoolCapacitySettings } from '../../../../shared/settings';
import { patroniHoverLines } from '../cluster/patroniHover';
import { inactiveReason, patroniServerText } from '../cluster/patroniSettings';
import type { LoadedConfig } from '../config/loadedConfig';
import type { OffsetRange } from '../config/poolConfig';
import { describeTarget, serverKey } from '../connection/connectionTarget';
import { constraintHeadline, reservedSettings, serverArithmetic } from './budgetFindings';
import { poolerBudgets } from './poolerRules';
import { type PoolOutcomes, serverBudgets } from './rules';
import type { PoolerBudget, ServerBudget } from './serverBudget';
import { unverifiedHoverLine } from './unverifiedPools';

const VERDICT_WORDS = { ok: 'fits', 'low-headroom': 'fits, inside the headroom', exceeds: 'does not fit' };

/**
 * Markdown for a hover on a pool size (or a pool's key): the budget behind the diagnostics, in a few
 * plain lines (under 15), from the same judgement the diagnostics render.
 */
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
  const lines = [
    `**Pool Capacity — ${pool.name} pool** · pool size ${pool.poolSize ?? 'not set'} · \`${pool.name === 'patroni' ? patroniServerText(pool) : describeTarget(pool.target)}\``,
    '',
  ];
  const outcome = outcomes[pool.name];
  const inactive = inactiveReason(config.document, pool.name);
  if (inactive) {
    lines.push(`This pool is ${inactive}.`);
  } else if (pool.name === 'patroni') {
    lines.push(...patroniHoverLines(config, pool, outcomes, settings, connectAllowed));
  } else if (!connectAllowed) {
    lines.push('Not connected: this workspace is not trusted, so Pool Capacity reads no server.');
  } else if (!outcome?.ok) {
    // Not probed (broken YAML, an unusable setting), still reading, or could not connect.
    lines.push(unverifiedHoverLine(config, pool, outcomes) ?? 'Reading the server…');
  } else {
    const key = serverKey(pool.target);
    const pooler = poolerBudgets(config, outcomes, settings).find((b) => b.serverKey === key);
    const budget = serverBudgets(config, outcomes, settings).find((b) => b.serverKey === key);
    const facts = outcome.facts;
    const item = (text: string) => lines.push(`- ${text}`);
    if (pooler) poolerLines(pooler, pool.name, item);
    else if (budget) serverLines(budget, pool.name, item);
    else item('Waiting for the other pools on this server to be read.');
    if (!pooler) {
      if (facts.roleLimit >= 0)
        item(
          `Role ${pool.target.user}: CONNECTION LIMIT ${facts.roleLimit}, ${facts.roleInUse} in use by others`,
        );
      if (facts.databaseLimit >= 0)
        item(
          `Database ${pool.target.database}: CONNECTION LIMIT ${facts.databaseLimit}, ${facts.databaseInUse} in use by others`,
        );
    }
    item(`Target: ${config.targetAgents} concurrent agents (${config.targetAgentsSource})`);
    const age = Math.max(0, Math.round((now - facts.readAt) / 1000));
    lines.push(
      '',
      `PostgreSQL ${facts.serverVersion}${facts.isSuperuser ? ' · superuser role' : ''} · read ${age} s ago (${new Date(facts.readAt).toISOString()})`,
    );
    if (facts.usageVisibility !== 'all roles')
      lines.push(
        '',
        "_Other roles' connections are counted by user and database only: this role lacks pg_read_all_stats, the built-in role that lets it see what they are._",
      );
  }
  return { markdown: lines.join('\n'), range };
}

function serverLines(budget: ServerBudget, name: string, item: (text: string) => void): void {
  const sizes = new Map(budget.pools.map((p) => [p.name, p.poolSize]));
  const server = budget.constraints[0]!;
  item(`Server: ${serverArithmetic(budget)} (reserved: ${reservedSettings(budget)})`);
  item(
    `Pools here: ${budget.pools.map((p) => `${p.name} ${p.poolSize}`).join(' + ')} = ${budget.poolsTotal} — ${VERDICT_WORDS[budget.verdict]}; ${budget.headroomSlots} must stay free as headroom`,
  );
  // The server's own sum is the line above; role and database limits that fail get a line each.
  for (const c of budget.constraints)
    if (c !== server && c.exceeded) item(constraintHeadline(c, sizes, false));
  largestLine(
    budget.pools.find((p) => p.name === name),
    budget.verdict,
    item,
  );
}

function poolerLines(budget: PoolerBudget, name: string, item: (text: string) => void): void {
  const backend = budget.backendPort === null ? 'a Unix socket' : `port ${budget.backendPort}`;
  item(`Through PgBouncer at ${budget.serverKey} to PostgreSQL on ${backend}`);
  if (!budget.limits) {
    item(`PgBouncer's limits cannot be read: ${budget.limitsUnreadable}`);
    return;
  }
  const l = budget.limits;
  item(
    `PgBouncer clients: max_client_conn ${l.maxClientConn} − ${l.otherClients} other clients = ${budget.clientsAvailable} free; pools ${budget.pools.map((p) => `${p.name} ${p.poolSize}`).join(' + ')} = ${budget.poolsTotal} — ${VERDICT_WORDS[budget.verdict!]}; ${budget.headroomSlots} must stay free`,
  );
  item(
    `Its server pools (pool_size ${l.poolSize} + reserve ${l.reservePool}, ${l.poolMode} mode) may open ${budget.serverNeed} connections; PostgreSQL has ${budget.serverFree} free for them`,
  );
  largestLine(
    budget.pools.find((p) => p.name === name),
    budget.verdict!,
    item,
  );
}

function largestLine(
  pool: ServerBudget['pools'][number] | undefined,
  verdict: ServerBudget['verdict'],
  item: (text: string) => void,
): void {
  if (!pool) return;
  if (pool.largestAlone === undefined)
    item(`No size of ${pool.name} alone keeps the headroom: the other pools take it all`);
  else if (verdict !== 'ok' || pool.largestAlone !== pool.poolSize)
    item(
      `Largest ${pool.name} size that keeps the headroom, the other pools as they are: ${pool.largestAlone}`,
    );
}
