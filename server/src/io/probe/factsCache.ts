import { createHash } from 'node:crypto';
import type { ProbeOutcome } from '../../core/capacity/serverFacts';
import { type ConnectionTarget, describeTarget } from '../../core/connection/connectionTarget';
import { CLOSE_TIMEOUT_MS } from '../db/openConnection';
import { probeDeadlineMs, probeServer } from './probeServer';

interface Entry {
  outcome?: ProbeOutcome;
  readAt: number;
  inflight?: Promise<ProbeOutcome>;
  /** When the in-flight probe started (epoch ms). */
  startedAt?: number;
}

/** Past its own deadline and bounded close, plus this slack, an in-flight probe no longer counts. */
const STALE_PROBE_SLACK_MS = 1000;

/**
 * Probe results per server, role and database (and password, so a changed password re-probes).
 * Concurrent requests for the same key share one probe; a probe that outlives its deadline is
 * not shared any more, and clear() (save, Refresh Server Info) always makes the next request start
 * a fresh one, so a probe stuck on a bad network never keeps a config from getting a verdict.
 */
export class FactsCache {
  private readonly entries = new Map<string, Entry>();

  constructor(private readonly probe: typeof probeServer = probeServer) {}

  static key(target: ConnectionTarget): string {
    const secret = createHash('sha256')
      // Everything that changes what the probe may do or see: a changed allowPlainPasswordHosts
      // must not reuse an outcome that was refused (or allowed) under the old setting.
      .update(
        `${target.password ?? ''}\0${JSON.stringify(target.ssl ?? null)}\0${target.allowPlainPassword ? 1 : 0}`,
      )
      .digest('hex')
      .slice(0, 16);
    return `${describeTarget(target)}#${secret}`;
  }

  /** The cached outcome if younger than maxAgeMs, without probing. */
  peek(target: ConnectionTarget, maxAgeMs: number): ProbeOutcome | undefined {
    const entry = this.entries.get(FactsCache.key(target));
    return entry?.outcome && Date.now() - entry.readAt <= maxAgeMs ? entry.outcome : undefined;
  }

  /** A fresh enough outcome, probing when there is none. */
  get(
    target: ConnectionTarget,
    options: { maxAgeMs: number; connectTimeoutMs: number },
  ): Promise<ProbeOutcome> {
    const key = FactsCache.key(target);
    const entry = this.entries.get(key);
    if (entry?.outcome && Date.now() - entry.readAt <= options.maxAgeMs)
      return Promise.resolve(entry.outcome);
    const staleAfter = probeDeadlineMs(options.connectTimeoutMs) + CLOSE_TIMEOUT_MS + STALE_PROBE_SLACK_MS;
    if (entry?.inflight && Date.now() - (entry.startedAt ?? 0) <= staleAfter) return entry.inflight;
    const fresh: Entry = { outcome: entry?.outcome, readAt: entry?.readAt ?? 0, startedAt: Date.now() };
    fresh.inflight = this.probe(target, { connectTimeoutMs: options.connectTimeoutMs }).then((outcome) => {
      // A probe dropped by clear() or overtaken by a newer one does not overwrite what came after it.
      if (this.entries.get(key) === fresh) this.entries.set(key, { outcome, readAt: Date.now() });
      return outcome;
    });
    this.entries.set(key, fresh);
    return fresh.inflight;
  }

  /** Forget one target's facts: the next get() probes again (a re-probe of an unreachable server). */
  forget(target: ConnectionTarget): void {
    this.entries.delete(FactsCache.key(target));
  }

  /** Forget everything, probes in flight included: the next get() probes again (config saved, refresh command). */
  clear(): void {
    this.entries.clear();
  }
}
