import type { PoolCapacitySettings } from '../../../../shared/settings';
import { type BudgetPool, headroomSlots, poolerBudget, serverBudget } from '../capacity/serverBudget';
import type { ServerFacts } from '../capacity/serverFacts';
import type { PoolName } from '../config/poolConfig';

/**
 * A load test was not started because it could crowd other clients off a server or targets a host
 * outside the allowlist. The message says why, in words true on every surface; each front end adds
 * its own way to go ahead anyway (the CLI's --force, the editor's "Run anyway").
 */
export class LoadTestRefused extends Error {
  constructor(readonly reasons: string[]) {
    super(`Load test refused: ${reasons.join('; ')}.`);
    this.name = 'LoadTestRefused';
  }
}

/** What a test would take from one server. */
export interface ServerDemand {
  /** host:port */
  serverKey: string;
  host: string;
  /** Facts of every tested pool on that server (their roles may differ). */
  facts: ServerFacts[];
  /** The most connections the test may hold on it at once (agents, pool connections and the observer). */
  connectionsNeeded: number;
  /** What the connections are besides the observer, e.g. ["35 agents"], so a refusal can show the sum. */
  parts?: string[];
  /** Per tested pool: the connections it may hold and its probe's facts, so role and database limits count. */
  pools?: { name: PoolName; user: string; database: string; connections: number; facts: ServerFacts }[];
}

/** "35 agents + 1 observer connection = 36 connections": the run's own observer counts too. */
function demandText(demand: ServerDemand, noun: string): string {
  const sum = demand.parts?.length ? `${[...demand.parts, '1 observer connection'].join(' + ')} = ` : '';
  return `${sum}${demand.connectionsNeeded} ${noun}`;
}

export interface SafetyVerdict {
  ok: boolean;
  /** One line per problem; empty when ok. */
  reasons: string[];
}

/** Slots a test must leave free: max(ceil(ratio x usable), min). */
export function safetyMargin(
  usable: number,
  settings: Pick<PoolCapacitySettings, 'safetyMarginRatio' | 'safetyMarginMin'>,
): number {
  return headroomSlots(usable, { ratio: settings.safetyMarginRatio, min: settings.safetyMarginMin });
}

/** Unix-socket directories and allowlisted names/addresses are fine; anything else asks first. */
export function isAllowedHost(host: string, allowed: readonly string[]): boolean {
  if (host.startsWith('/')) return true;
  const bare = host.replace(/^\[(.*)\]$/, '$1').toLowerCase();
  return allowed.some((a) => a.replace(/^\[(.*)\]$/, '$1').toLowerCase() === bare);
}

/**
 * The test's connections as the budget's pools: each tested pool with what it may hold, the
 * observer counted with the first. Without per-pool figures, one demand on the first facts (the
 * others' facts still count for the least privileged role and the most other clients seen).
 */
function demandPools(demand: ServerDemand): BudgetPool[] {
  if (demand.pools?.length) {
    return demand.pools.map((p, i) => ({
      name: p.name,
      poolSize:
        p.connections +
        (i === 0 ? demand.connectionsNeeded - sum(demand.pools!.map((q) => q.connections)) : 0),
      user: p.user,
      database: p.database,
      facts: p.facts,
    }));
  }
  return demand.facts.map((facts, i) => ({
    name: (i === 0 ? 'project' : `probe-${i}`) as PoolName,
    poolSize: i === 0 ? demand.connectionsNeeded : 0,
    user: '',
    database: '',
    facts: { ...facts, roleLimit: -1, databaseLimit: -1 },
  }));
}

function sum(values: number[]): number {
  return values.reduce((a, b) => a + b, 0);
}

/**
 * Refuses a test that needs more than `free - margin` slots on any server (other clients and other
 * load-test runs counted as used), more than a role's or database's CONNECTION LIMIT leaves, or that
 * targets a host outside `loadTestAllowedHosts`. The figures are the budget's (serverBudget.ts), with
 * the safety margin as its headroom. Pure: the caller probes and decides what `force` means.
 */
export function checkLoadTestSafety(demands: ServerDemand[], settings: PoolCapacitySettings): SafetyVerdict {
  const reasons: string[] = [];
  const rule = { ratio: settings.safetyMarginRatio, min: settings.safetyMarginMin };
  for (const demand of demands) {
    if (!isAllowedHost(demand.host, settings.loadTestAllowedHosts)) {
      reasons.push(
        `${demand.serverKey} is not in poolCapacity.loadTestAllowedHosts (${settings.loadTestAllowedHosts.join(', ') || 'empty'})`,
      );
    }
    if (demand.facts.length === 0) continue;
    const pools = demandPools(demand);
    // Behind PgBouncer the test's connections are its clients: max_client_conn is the slot count at risk.
    if (demand.facts.some((f) => f.pooler)) {
      const withPooler = pools.map((p) => ({
        ...p,
        facts: { ...p.facts, pooler: demand.facts.find((f) => f.pooler)!.pooler },
      }));
      const budget = poolerBudget(demand.serverKey, withPooler, rule);
      if (!budget.limits) {
        reasons.push(
          `${demand.serverKey} is a PgBouncer whose free client slots cannot be read (${budget.limitsUnreadable})`,
        );
      } else if (budget.verdict !== 'ok') {
        const free = budget.clientsAvailable!;
        const margin = budget.headroomSlots!;
        reasons.push(
          `it would hold up to ${demandText(demand, 'client connections')} on PgBouncer ${demand.serverKey}, where ${free} of max_client_conn ${budget.limits.maxClientConn} are free and ${margin} must stay free, so at most ${Math.max(0, free - margin)}`,
        );
      }
      continue;
    }
    const budget = serverBudget(demand.serverKey, pools, rule);
    const server = budget.constraints[0]!;
    if (server.exceeded || server.tight) {
      const allowed = budget.free - budget.headroomSlots;
      reasons.push(
        `it would hold up to ${demandText(demand, 'connections')} on ${demand.serverKey}, where ${budget.free} of ${budget.usable} usable slots are free and ${budget.headroomSlots} must stay free (safety margin ${Math.round(settings.safetyMarginRatio * 100)}%, at least ${settings.safetyMarginMin}), so at most ${Math.max(0, allowed)} (${budget.usedByOthers} held by other clients, other load-test runs included)`,
      );
    }
    for (const limit of budget.limits) {
      if (!limit.exceeded) continue;
      reasons.push(
        `it would hold ${limit.need} connections as ${limit.kind} "${limit.name}", whose CONNECTION LIMIT ${limit.limit} leaves ${limit.available} (${limit.inUse} in use by others)`,
      );
    }
  }
  return { ok: reasons.length === 0, reasons };
}
