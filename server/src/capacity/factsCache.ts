import { createHash } from 'node:crypto';
import { type ConnectionTarget, describeTarget } from '../db/connectionTarget';
import { type ProbeOutcome, probeServer } from './serverFacts';

interface Entry {
  outcome?: ProbeOutcome;
  readAt: number;
  inflight?: Promise<ProbeOutcome>;
}

/**
 * Probe results per server, role and database (and password, so a changed password re-probes).
 * Concurrent requests for the same key share one probe.
 */
export class FactsCache {
  private readonly entries = new Map<string, Entry>();

  constructor(private readonly probe: typeof probeServer = probeServer) {}

  static key(target: ConnectionTarget): string {
    const secret = createHash('sha256')
      .update(`${target.password ?? ''}\0${JSON.stringify(target.ssl ?? null)}`)
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
    if (entry?.inflight) return entry.inflight;
    const inflight = this.probe(target, { connectTimeoutMs: options.connectTimeoutMs }).then((outcome) => {
      this.entries.set(key, { outcome, readAt: Date.now() });
      return outcome;
    });
    this.entries.set(key, { ...entry, readAt: entry?.readAt ?? 0, inflight });
    return inflight;
  }

  /** Forget everything: the next get() probes again (config saved, refresh command). */
  clear(): void {
    for (const [key, entry] of this.entries) {
      if (entry.inflight) this.entries.set(key, { inflight: entry.inflight, readAt: 0 });
      else this.entries.delete(key);
    }
  }
}
