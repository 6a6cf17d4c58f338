/**
 * The capacity report: what each server allows and the predecessor's planning numbers (guaranteed
 * capacity, burst capacity, headroom over the target, server reserve). `capacityPlan` and
 * `formatCapacityReport` are pure (probe facts in, data and text out); `buildCapacityReport` adds the
 * probing. The CLI `report` command and the editor's "Show Capacity Report" both use them.
 */
import type { PoolCapacitySettings } from '../../../shared/settings';
import { groupByServer, type MeasuredPool, type ServerBudget, serverBudget } from '../capacity/serverBudget';
import { probeServer, type ServerFacts } from '../capacity/serverFacts';
import type { LoadedConfig } from '../config/loadConfig';
import type { PoolName, ResolvedPool } from '../config/poolConfig';
import { type ConnectFailure, FAILURE_LABELS } from '../db/connectFailure';
import { describeTarget } from '../db/connectionTarget';

export type CapacityPool = Pick<ResolvedPool, 'name' | 'poolSize' | 'minSize' | 'target'>;

/** One pool with what its probe returned. */
export interface ProbedPool {
  pool: CapacityPool;
  facts?: ServerFacts;
  failure?: ConnectFailure;
}

export type BudgetStatus = 'OK' | 'WARN' | 'FAIL';

export interface ServerCapacity {
  budget: ServerBudget;
  usageVisibility: ServerFacts['usageVisibility'];
  /** max_connections less the pools (the predecessor's "PostgreSQL reserve"). */
  reserve: number;
  status: BudgetStatus;
  statusReasons: string[];
}

export interface CapacityPlan {
  targetAgents: number;
  pools: { name: PoolName; poolSize?: number; minSize?: number; server: string }[];
  servers: ServerCapacity[];
  unreachable: { name: PoolName; server: string; failure: ConnectFailure }[];
  /** The project pool's size (the pool every agent uses), else the largest pool. */
  guaranteedCapacity: number;
  guaranteedFrom: PoolName[];
  /** All agent-facing pools together (project + shared). */
  burstCapacity: number;
  burstFrom: PoolName[];
  /** guaranteed - target, and as a share of the target. */
  headroomAgents: number;
  headroomRatio: number;
}

/** Judges one server's budget: FAIL when the pools cannot all be served, WARN inside the headroom. */
export function budgetStatus(budget: ServerBudget): { status: BudgetStatus; reasons: string[] } {
  const reasons: string[] = [];
  let status: BudgetStatus = 'OK';
  if (budget.freeAfter < 0) {
    status = 'FAIL';
    reasons.push(`the pools need ${budget.poolsTotal} connections but only ${budget.free} slots are free`);
  } else if (budget.freeAfter < budget.headroomSlots) {
    status = 'WARN';
    reasons.push(
      `${budget.freeAfter} slots stay free after the pools, less than the headroom of ${budget.headroomSlots}`,
    );
  }
  for (const limit of budget.limits) {
    if (limit.need > limit.available) {
      status = 'FAIL';
      reasons.push(
        `${limit.kind} ${limit.name} allows ${limit.limit} connections (${limit.inUse} in use by others), the pools need ${limit.need}`,
      );
    }
  }
  return { status, reasons };
}

export function capacityPlan(
  probed: readonly ProbedPool[],
  targetAgents: number,
  settings: Pick<PoolCapacitySettings, 'headroomThreshold'>,
): CapacityPlan {
  const sized = probed.filter((p) => p.pool.poolSize !== undefined);
  const measured: MeasuredPool[] = sized.flatMap((p) =>
    p.facts ? [{ pool: p.pool as MeasuredPool['pool'], facts: p.facts }] : [],
  );
  const servers = [...groupByServer(measured).values()].map((group): ServerCapacity => {
    const budget = serverBudget(group, settings.headroomThreshold);
    const judged = budgetStatus(budget);
    return {
      budget,
      usageVisibility: group.every((g) => g.facts.usageVisibility === 'all roles') ? 'all roles' : 'by name',
      reserve: budget.maxConnections - budget.poolsTotal,
      status: judged.status,
      statusReasons: judged.reasons,
    };
  });

  const agentFacing = sized.filter((p) => p.pool.name !== 'patroni');
  const burstPools = agentFacing.length > 0 ? agentFacing : sized;
  const project = sized.find((p) => p.pool.name === 'project');
  const largest = [...sized].sort((a, b) => b.pool.poolSize! - a.pool.poolSize!)[0];
  const guaranteedPool = project ?? largest;
  const guaranteedCapacity = guaranteedPool?.pool.poolSize ?? 0;
  return {
    targetAgents,
    pools: probed.map((p) => ({
      name: p.pool.name,
      ...(p.pool.poolSize !== undefined ? { poolSize: p.pool.poolSize } : {}),
      ...(p.pool.minSize !== undefined ? { minSize: p.pool.minSize } : {}),
      server: describeTarget(p.pool.target),
    })),
    servers,
    unreachable: probed.flatMap((p) =>
      p.failure ? [{ name: p.pool.name, server: describeTarget(p.pool.target), failure: p.failure }] : [],
    ),
    guaranteedCapacity,
    guaranteedFrom: guaranteedPool ? [guaranteedPool.pool.name] : [],
    burstCapacity: burstPools.reduce((sum, p) => sum + p.pool.poolSize!, 0),
    burstFrom: burstPools.map((p) => p.pool.name),
    headroomAgents: guaranteedCapacity - targetAgents,
    headroomRatio: targetAgents > 0 ? (guaranteedCapacity - targetAgents) / targetAgents : 0,
  };
}

const KEY_WIDTH = 10;
const key = (word: string) => word.padEnd(KEY_WIDTH);

/** The plan as text; lines start with stable words (Capacity, Pool, Server, Limit, Budget, Planning, Error). */
export function formatCapacityReport(plan: CapacityPlan): string {
  const lines: string[] = [`${key('Capacity')}report for a target of ${plan.targetAgents} concurrent agents`];
  for (const pool of plan.pools) {
    const size =
      pool.poolSize === undefined
        ? 'no valid poolSize'
        : `size ${pool.poolSize}${pool.minSize !== undefined ? ` (min ${pool.minSize})` : ''}`;
    lines.push(`${key('Pool')}${pool.name} ${size}  ${pool.server}`);
  }
  for (const u of plan.unreachable) {
    lines.push(
      `${key('Error')}${u.name} pool ${u.server}: ${FAILURE_LABELS[u.failure.class]}: ${u.failure.message}`,
    );
  }
  for (const server of plan.servers) {
    const b = server.budget;
    lines.push(`${key('Server')}${b.serverKey}  PostgreSQL ${b.serverVersion}`);
    lines.push(
      `${key('Server')}max_connections ${b.maxConnections}, superuser_reserved_connections ${b.superuserReserved}` +
        `${b.reserved > 0 ? `, reserved_connections ${b.reserved}` : ''} -> ${b.usable} usable by the pools' roles`,
    );
    lines.push(
      `${key('Server')}${b.usedByOthers} used by other clients (pg_stat_activity, ${server.usageVisibility}), ${b.free} free; ` +
        `pools ${b.pools.map((p) => `${p.name} ${p.poolSize}`).join(' + ')} = ${b.poolsTotal} -> ${b.freeAfter} free after the pools`,
    );
    for (const limit of b.limits) {
      lines.push(
        `${key('Limit')}${limit.kind} ${limit.name}: CONNECTION LIMIT ${limit.limit}, ${limit.inUse} in use by others, pools ${limit.pools.join(' + ')} need ${limit.need}`,
      );
    }
    const suggested = Object.entries(b.suggestedSizes)
      .map(([name, size]) => `${name} ${size}`)
      .join(', ');
    lines.push(
      `${key('Budget')}${server.status}  ${server.statusReasons.join('; ') || `headroom of ${b.headroomSlots} slots kept`}` +
        `; largest sizes keeping the headroom: ${suggested}`,
    );
  }
  const pct = (r: number) => `${Math.round(r * 100)}%`;
  lines.push(
    `${key('Planning')}guaranteed capacity: ${plan.guaranteedCapacity} concurrent agents (${plan.guaranteedFrom.join(' + ') || 'no pool'} pool)`,
  );
  lines.push(
    `${key('Planning')}burst capacity: ${plan.burstCapacity} concurrent agents (${plan.burstFrom.join(' + ') || 'no pool'})`,
  );
  lines.push(
    plan.headroomAgents >= 0
      ? `${key('Planning')}headroom: ${pct(plan.headroomRatio)} above the ${plan.targetAgents}-agent target (${plan.headroomAgents} agents)`
      : `${key('Planning')}headroom: none, ${-plan.headroomAgents} agents short of the ${plan.targetAgents}-agent target (${pct(plan.headroomRatio)})`,
  );
  for (const server of plan.servers) {
    lines.push(
      `${key('Planning')}server reserve on ${server.budget.serverKey}: ${server.reserve} of max_connections ${server.budget.maxConnections} after the pools ` +
        `(${server.budget.freeAfter} of them free now, after reserved slots and other clients)`,
    );
  }
  return lines.join('\n');
}

/**
 * Probes every pool's server (pools with the same role, database and server share one probe) and
 * plans. Unreachable pools are listed in `unreachable`, not thrown.
 */
export async function buildCapacityReport(
  loaded: Pick<LoadedConfig, 'pools' | 'targetAgents'>,
  settings: Pick<PoolCapacitySettings, 'headroomThreshold' | 'connectTimeoutMs'>,
  signal?: AbortSignal,
): Promise<CapacityPlan> {
  const probes = new Map<string, Promise<{ facts?: ServerFacts; failure?: ConnectFailure }>>();
  const probed: ProbedPool[] = await Promise.all(
    loaded.pools.map(async (pool) => {
      const key = describeTarget(pool.target);
      if (!probes.has(key)) {
        probes.set(
          key,
          probeServer(pool.target, { connectTimeoutMs: settings.connectTimeoutMs, signal }).then((outcome) =>
            outcome.ok ? { facts: outcome.facts } : { failure: outcome.failure },
          ),
        );
      }
      return { pool, ...(await probes.get(key)!) };
    }),
  );
  return capacityPlan(probed, loaded.targetAgents, settings);
}
