/**
 * The capacity report: what each server allows and the planning numbers our users know from the
 * origin's upgrade notes (guaranteed capacity, burst capacity, headroom over the target, server
 * reserve). Every number comes from the budgets the diagnostics render (serverBudgets and
 * poolerBudgets), so the report never says more than the server can give now. `capacityPlan` and
 * `formatCapacityReport` are pure; `buildCapacityReport` adds the probing. The CLI `report` command
 * and the editor's "Show Capacity Report" both use them.
 */
import type { PoolCapacitySettings } from '../../../../shared/settings';
import { type ClusterCapacity, clusterCapacity } from '../cluster/patroniReport';
import { inactiveReason, patroniServerText } from '../cluster/patroniSettings';
import type { LoadedConfig } from '../config/loadedConfig';
import type { PoolName } from '../config/poolConfig';
import { type ConnectFailure, FAILURE_LABELS } from '../connection/connectFailure';
import { describeTarget } from '../connection/connectionTarget';
import { constraintHeadline, reservedSettings, serverArithmetic } from './budgetFindings';
import { poolerBudgets } from './poolerRules';
import { type PoolOutcomes, serverBudgets } from './rules';
import type { BudgetConstraint, PoolerBudget, ServerBudget } from './serverBudget';

export type BudgetStatus = 'OK' | 'WARN' | 'FAIL';

const STATUS: Record<ServerBudget['verdict'], BudgetStatus> = {
  ok: 'OK',
  'low-headroom': 'WARN',
  exceeds: 'FAIL',
};

export interface ServerCapacity {
  budget: ServerBudget;
  status: BudgetStatus;
  /** One line per sum that is over or inside its headroom, figures first. */
  statusReasons: string[];
  /** What would make the sizes fit: smaller sizes, or a server setting. Empty when OK. */
  remedies: string[];
  /** Slots that stay free after the pools now (never negative). */
  reserve: number;
}

export interface PoolerCapacity {
  budget: PoolerBudget;
  status?: BudgetStatus;
  statusReasons: string[];
  remedies: string[];
}

export interface CapacityPlan {
  targetAgents: number;
  /** `inactive`: the layout the mode does not use (checked for valid values only). */
  pools: { name: PoolName; poolSize?: number; minSize?: number; server: string; inactive?: boolean }[];
  servers: ServerCapacity[];
  poolers: PoolerCapacity[];
  unreachable: { name: PoolName; server: string; failure: ConnectFailure }[];
  /** What the server gives the project pool now (the pool every agent uses), else the largest pool. */
  guaranteedCapacity: number;
  guaranteedFrom: PoolName[];
  /** What the servers give all agent-facing pools together now. */
  burstCapacity: number;
  burstFrom: PoolName[];
  /** guaranteed - target, and as a share of the target. */
  headroomAgents: number;
  headroomRatio: number;
  /** The Patroni cluster the patroni pool uses: members, leader budget, the worst single failover. */
  cluster?: ClusterCapacity;
}

function judged(
  budget: ServerBudget | PoolerBudget,
  pooler: boolean,
): { statusReasons: string[]; remedies: string[] } {
  const sizes = new Map(budget.pools.map((p) => [p.name, p.poolSize]));
  const failing = budget.constraints.filter((c) => c.exceeded || c.tight);
  const statusReasons = failing.map(
    (c) =>
      `${constraintHeadline(c, sizes, pooler)} (${c.need - (c.available - c.keepFree)} over${c.keepFree ? ' with the headroom' : ''})`,
  );
  if (failing.length === 0) return { statusReasons, remedies: [] };
  const remedies: string[] = [];
  const others = (name: PoolName) => budget.pools.filter((p) => p.name !== name).map((p) => p.name);
  for (const p of budget.pools) {
    if (p.largestAlone === undefined || p.largestAlone >= p.poolSize) continue;
    const rest = others(p.name);
    remedies.push(`${p.name} poolSize ${p.largestAlone}${rest.length ? ` (${rest.join(', ')} as now)` : ''}`);
  }
  if (budget.resizeAll && budget.pools.length > 1)
    remedies.push(
      `all pools resized: ${budget.pools.map((p) => `${p.name} ${budget.resizeAll![p.name]}`).join(', ')}`,
    );
  for (const c of failing) remedies.push(...settingFix(c, budget));
  return { statusReasons, remedies };
}

function settingFix(c: BudgetConstraint, budget: ServerBudget | PoolerBudget): string[] {
  if (c.kind === 'server') {
    const m = (budget as ServerBudget).maxConnectionsToFit;
    return m === undefined
      ? []
      : [`ALTER SYSTEM SET max_connections = ${m}; then restart PostgreSQL (a reload does not apply it)`];
  }
  if (c.kind === 'role' && c.exceeded)
    return [`ALTER ROLE "${c.name}" CONNECTION LIMIT ${c.need + c.inUse!}`];
  if (c.kind === 'database' && c.exceeded)
    return [`ALTER DATABASE "${c.name}" CONNECTION LIMIT ${c.need + c.inUse!}`];
  if (c.kind === 'pooler') {
    const m = (budget as PoolerBudget).maxClientConnToFit;
    return m === undefined ? [] : [`max_client_conn = ${m} in pgbouncer.ini, then reload PgBouncer`];
  }
  return [];
}

/** A server's budget with its status, the reasons and the fixes (also each Patroni member's, on the dashboard). */
export function serverCapacity(budget: ServerBudget): ServerCapacity {
  return {
    budget,
    status: STATUS[budget.verdict],
    ...judged(budget, false),
    reserve: Math.max(0, budget.freeAfter),
  };
}

/** The plan from the probes' outcomes, by the same budgets as the diagnostics. */
export function capacityPlan(
  config: LoadedConfig,
  outcomes: PoolOutcomes,
  settings: Pick<PoolCapacitySettings, 'headroomThreshold'>,
): CapacityPlan {
  const servers = serverBudgets(config, outcomes, settings).map(serverCapacity);
  const poolers = poolerBudgets(config, outcomes, settings).map(
    (budget): PoolerCapacity => ({
      budget,
      ...(budget.verdict ? { status: STATUS[budget.verdict] } : {}),
      ...(budget.limits ? judged(budget, true) : { statusReasons: [], remedies: [] }),
    }),
  );
  // What each judged pool can get now, the others holding theirs.
  const attainable = new Map<PoolName, number>();
  for (const b of [...servers.map((s) => s.budget), ...poolers.map((p) => p.budget)])
    for (const p of b.pools) attainable.set(p.name, p.attainable);

  const cluster = clusterCapacity(config, outcomes, settings);
  // The patroni pool counts with what the leader gives it now; the singleNode pools only when active.
  if (cluster?.leaderAttainable !== undefined) attainable.set('patroni', cluster.leaderAttainable);
  const sized = config.pools.filter(
    (p) =>
      p.poolSize !== undefined &&
      inactiveReason(config.document, p.name) === undefined &&
      (p.name !== 'patroni' || attainable.has('patroni')),
  );
  const project = sized.find((p) => p.name === 'project');
  const largest = [...sized].sort((a, b) => b.poolSize! - a.poolSize!)[0];
  const guaranteedPool = project ?? largest;
  const guaranteedCapacity = guaranteedPool ? (attainable.get(guaranteedPool.name) ?? 0) : 0;
  // Together the pools of one server get no more than its budget gives them all.
  const burstCapacity =
    servers.reduce((sum, s) => sum + s.budget.attainableTotal, 0) +
    poolers.reduce((sum, p) => sum + (p.budget.attainableTotal ?? 0), 0) +
    (cluster?.leaderAttainable ?? 0);
  const burstFrom = sized.filter((p) => attainable.has(p.name)).map((p) => p.name);
  const targetAgents = config.targetAgents;
  return {
    targetAgents,
    pools: config.pools.map((p) => ({
      name: p.name,
      ...(p.poolSize !== undefined ? { poolSize: p.poolSize } : {}),
      ...(p.minSize !== undefined ? { minSize: p.minSize } : {}),
      server: p.name === 'patroni' ? patroniServerText(p) : describeTarget(p.target),
      ...(inactiveReason(config.document, p.name) ? { inactive: true } : {}),
    })),
    servers,
    poolers,
    unreachable: config.pools.flatMap((p) => {
      const outcome = outcomes[p.name];
      return outcome && !outcome.ok
        ? [{ name: p.name, server: describeTarget(p.target), failure: outcome.failure }]
        : [];
    }),
    guaranteedCapacity,
    guaranteedFrom: guaranteedPool ? [guaranteedPool.name] : [],
    burstCapacity,
    burstFrom,
    headroomAgents: guaranteedCapacity - targetAgents,
    headroomRatio: targetAgents > 0 ? (guaranteedCapacity - targetAgents) / targetAgents : 0,
    ...(cluster ? { cluster } : {}),
  };
}

// The load-test table's key column (reportTable.ts): the output channel's blocks line up.
const KEY_WIDTH = 9;
const key = (word: string) => (word.length >= KEY_WIDTH ? `${word} ` : word.padEnd(KEY_WIDTH));

/** The plan as text; lines start with stable words (Capacity, Pool, Server, PgBouncer, Limit, Budget, Fix, Planning, Error). */
export function formatCapacityReport(plan: CapacityPlan): string {
  const lines: string[] = [`${key('Capacity')}report for a target of ${plan.targetAgents} concurrent agents`];
  for (const pool of plan.pools) {
    const size =
      pool.poolSize === undefined
        ? 'no valid poolSize'
        : `size ${pool.poolSize}${pool.minSize !== undefined ? ` (min ${pool.minSize})` : ''}`;
    lines.push(
      `${key('Pool')}${pool.name} ${size}  ${pool.server}${pool.inactive ? '  (inactive in this mode)' : ''}`,
    );
  }
  for (const u of plan.unreachable) {
    lines.push(
      `${key('Error')}${u.name} pool ${u.server}: ${FAILURE_LABELS[u.failure.class]}: ${u.failure.message}`,
    );
  }
  for (const server of plan.servers) serverLines(lines, server);
  for (const pooler of plan.poolers) poolerLines(lines, pooler);
  if (plan.cluster) lines.push(...plan.cluster.lines.map((l) => `${key(l.key)}${l.text}`));
  planningLines(lines, plan);
  return lines.join('\n');
}

/** A server's limits, its budget's arithmetic, role and database limits, verdict and fixes. */
function serverLines(lines: string[], server: CapacityPlan['servers'][number]): void {
  const b = server.budget;
  lines.push(`${key('Server')}${b.serverKey}  PostgreSQL ${b.serverVersion}`);
  lines.push(
    `${key('Server')}max_connections ${b.maxConnections}, ${reservedSettings(b)} -> ${b.usable} usable by the pools' roles`,
  );
  lines.push(
    `${key('Server')}${serverArithmetic(b)} (other clients counted ${b.usageVisibility === 'all roles' ? 'for all roles' : 'by user and database'}); ` +
      `pools ${b.pools.map((p) => `${p.name} ${p.poolSize}`).join(' + ')} = ${b.poolsTotal}; ${b.headroomSlots} kept free as headroom`,
  );
  for (const limit of b.limits) {
    lines.push(
      `${key('Limit')}${limit.kind} ${limit.name}: CONNECTION LIMIT ${limit.limit}, ${limit.inUse} in use by others, pools ${limit.pools.join(' + ')} need ${limit.need}`,
    );
  }
  budgetLines(lines, server.status, server.statusReasons, server.remedies, b.headroomSlots);
}

/** A PgBouncer's client and server-pool budgets, or why they cannot be read. */
function poolerLines(lines: string[], pooler: CapacityPlan['poolers'][number]): void {
  const b = pooler.budget;
  const backend = b.backendPort === null ? 'a Unix socket' : `port ${b.backendPort}`;
  lines.push(`${key('PgBouncer')}${b.serverKey} in front of PostgreSQL on ${backend}`);
  if (!b.limits || !pooler.status) {
    lines.push(
      `${key('PgBouncer')}its limits cannot be read (${b.limitsUnreadable}): the pools are not judged`,
    );
    return;
  }
  const l = b.limits;
  lines.push(
    `${key('PgBouncer')}max_client_conn ${l.maxClientConn} − ${l.otherClients} other clients = ${b.clientsAvailable} free; ` +
      `pools ${b.pools.map((p) => `${p.name} ${p.poolSize}`).join(' + ')} = ${b.poolsTotal}; ${b.headroomSlots} kept free as headroom`,
  );
  lines.push(
    `${key('PgBouncer')}server pools (pool_size ${l.poolSize} + reserve ${l.reservePool}, ${l.poolMode}) may open ${b.serverNeed} connections; PostgreSQL has ${b.serverFree} free for them`,
  );
  budgetLines(lines, pooler.status, pooler.statusReasons, pooler.remedies, b.headroomSlots!);
}

/** The planning figures: guaranteed and burst capacity, headroom, after a failover, each server's reserve. */
function planningLines(lines: string[], plan: CapacityPlan): void {
  const pct = (r: number) => `${Math.round(r * 100)}%`;
  const now = 'the servers can give now';
  lines.push(
    `${key('Planning')}guaranteed capacity: ${plan.guaranteedCapacity} concurrent agents (${plan.guaranteedFrom.join(' + ') || 'no pool'} pool, what ${now})`,
  );
  lines.push(
    `${key('Planning')}burst capacity: ${plan.burstCapacity} concurrent agents (${plan.burstFrom.join(' + ') || 'no pool'}, what ${now})`,
  );
  lines.push(
    plan.headroomAgents >= 0
      ? `${key('Planning')}headroom: ${pct(plan.headroomRatio)} above the ${plan.targetAgents}-agent target (${plan.headroomAgents} agents)`
      : `${key('Planning')}headroom: none, ${-plan.headroomAgents} agents short of the ${plan.targetAgents}-agent target (${pct(plan.headroomRatio)})`,
  );
  if (plan.cluster?.afterFailoverAttainable !== undefined)
    lines.push(
      `${key('Planning')}after the worst single failover: ${plan.cluster.afterFailoverAttainable} connections for the patroni pool (${(plan.cluster.detail as { failover?: { worst?: string } }).failover?.worst ?? 'no member'})`,
    );
  for (const server of plan.servers) {
    const b = server.budget;
    lines.push(
      b.freeAfter >= 0
        ? `${key('Planning')}server reserve on ${b.serverKey}: ${server.reserve} of ${b.free} free slots stay free after the pools (max_connections ${b.maxConnections})`
        : `${key('Planning')}server reserve on ${b.serverKey}: none, the pools need ${-b.freeAfter} more than the ${b.free} free slots (max_connections ${b.maxConnections})`,
    );
  }
}

function budgetLines(
  lines: string[],
  status: BudgetStatus,
  reasons: string[],
  remedies: string[],
  headroom: number,
): void {
  if (status === 'OK') {
    lines.push(`${key('Budget')}OK  the pools fit and ${headroom} slots stay free as headroom`);
    return;
  }
  for (const reason of reasons) lines.push(`${key('Budget')}${status}  ${reason}`);
  for (const remedy of remedies) lines.push(`${key('Fix')}${remedy}`);
}
