import type { PoolCapacitySettings } from '../../../shared/settings';
import { usableSlots } from '../capacity/serverBudget';
import type { ServerFacts } from '../capacity/serverFacts';

/**
 * A load test was not started because it could crowd other clients off a server or targets a host
 * outside the allowlist. The message says how to go ahead anyway.
 */
export class LoadTestRefused extends Error {
  constructor(readonly reasons: string[]) {
    super(
      `Load test refused: ${reasons.join('; ')}. To go ahead anyway, run it with --force (CLI) or confirm it in the editor.`,
    );
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
  return Math.max(Math.ceil(settings.safetyMarginRatio * usable), settings.safetyMarginMin);
}

/** Unix-socket directories and allowlisted names/addresses are fine; anything else asks first. */
export function isAllowedHost(host: string, allowed: readonly string[]): boolean {
  if (host.startsWith('/')) return true;
  const bare = host.replace(/^\[(.*)\]$/, '$1').toLowerCase();
  return allowed.some((a) => a.replace(/^\[(.*)\]$/, '$1').toLowerCase() === bare);
}

/**
 * Refuses a test that needs more than `free - margin` slots on any server, or that targets a host
 * outside `loadTestAllowedHosts`. Pure: the caller probes and decides what `force` means.
 */
export function checkLoadTestSafety(demands: ServerDemand[], settings: PoolCapacitySettings): SafetyVerdict {
  const reasons: string[] = [];
  for (const demand of demands) {
    if (!isAllowedHost(demand.host, settings.loadTestAllowedHosts)) {
      reasons.push(
        `${demand.serverKey} is not in poolCapacity.loadTestAllowedHosts (${settings.loadTestAllowedHosts.join(', ') || 'empty'})`,
      );
    }
    if (demand.facts.length === 0) continue;
    // Behind PgBouncer the test's connections are its clients: max_client_conn is the slot count at risk.
    const pooler = demand.facts.find((f) => f.pooler)?.pooler;
    if (pooler) {
      if (!pooler.limits) {
        reasons.push(
          `${demand.serverKey} is a PgBouncer whose free client slots cannot be read (${pooler.limitsUnreadable})`,
        );
        continue;
      }
      const { maxClientConn, otherClients } = pooler.limits;
      const free = Math.max(0, maxClientConn - otherClients);
      const margin = safetyMargin(maxClientConn, settings);
      if (demand.connectionsNeeded > free - margin) {
        reasons.push(
          `it would hold up to ${demand.connectionsNeeded} client connections on PgBouncer ${demand.serverKey}, where ${free} of max_client_conn ${maxClientConn} are free and ${margin} must stay free, so at most ${Math.max(0, free - margin)}`,
        );
      }
      continue;
    }
    // The least privileged role of the pools meets a refusal first; the probes saw others at slightly
    // different moments, so take the most they saw.
    const usable = Math.min(...demand.facts.map(usableSlots));
    const usedByOthers = Math.max(...demand.facts.map((f) => f.usedByOthers));
    const free = Math.max(0, usable - usedByOthers);
    const margin = safetyMargin(usable, settings);
    const allowed = free - margin;
    if (demand.connectionsNeeded > allowed) {
      reasons.push(
        `it would hold up to ${demand.connectionsNeeded} connections on ${demand.serverKey}, where ${free} of ${usable} usable slots are free and ${margin} must stay free (safety margin ${Math.round(settings.safetyMarginRatio * 100)}%, at least ${settings.safetyMarginMin}), so at most ${Math.max(0, allowed)}`,
      );
    }
  }
  return { ok: reasons.length === 0, reasons };
}
