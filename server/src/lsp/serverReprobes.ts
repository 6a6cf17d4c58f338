/**
 * The backoff re-probe of every server whose probe failed: the server-unreachable diagnostic
 * clears by itself when the server comes back, without an edit. The status poll's view of the
 * servers speeds it up: a server the poll reaches again is re-probed at once.
 */
import type { ServerStatus } from '../../../shared/protocol';
import type { FailureClass } from '../core/connection/connectFailure';
import { type ConnectionTarget, serverKey } from '../core/connection/connectionTarget';
import { FactsCache } from '../io/probe/factsCache';
import type { ConfigRegistry } from './configRegistry';

/** The first re-probe of an unreachable server; each failed one doubles it up to the facts' max age. */
const REPROBE_FIRST_DELAY_MS = 2000;
/** Failures that say the server is not there (rather than "you may not"): the status poll can tell when it is back. */
const UNREACHABLE_CLASSES: readonly FailureClass[] = [
  'connection-refused',
  'connect-timeout',
  'query-timeout',
  'connection-lost',
  'admin-shutdown',
  'server-starting',
  'host-unreachable',
  'dns',
  'cancelled',
];

/** A server whose probe failed, re-probed on a backoff until it answers. */
interface Reprobe {
  target: ConnectionTarget;
  delayMs: number;
  timer?: NodeJS.Timeout;
  running: boolean;
}

export class ServerReprobes {
  /** By FactsCache key. */
  private readonly pending = new Map<string, Reprobe>();
  /** The status poll's last state per server, to follow a server that goes away between validations. */
  private readonly polledStates = new Map<string, ServerStatus['state']>();

  constructor(
    private readonly registry: Pick<
      ConfigRegistry,
      'probedOutcomes' | 'trusted' | 'facts' | 'currentSettings' | 'revalidate' | 'log'
    >,
  ) {}

  /**
   * Keeps one backoff re-probe per server whose probe failed, and drops those that answer now or
   * are no longer configured: the server-unreachable diagnostic then clears by itself.
   */
  update(): void {
    const failing = new Map<string, ConnectionTarget>();
    if (this.registry.trusted) {
      for (const { pool, outcome } of this.registry.probedOutcomes()) {
        if (outcome && !outcome.ok) failing.set(FactsCache.key(pool.target), pool.target);
      }
    }
    for (const [key, reprobe] of this.pending) {
      if (!failing.has(key) && !reprobe.running) {
        clearTimeout(reprobe.timer);
        this.pending.delete(key);
      }
    }
    for (const [key, target] of failing) {
      if (this.pending.has(key)) continue;
      const reprobe: Reprobe = { target, delayMs: REPROBE_FIRST_DELAY_MS, running: false };
      this.pending.set(key, reprobe);
      this.armReprobe(key, reprobe);
    }
  }

  private armReprobe(key: string, reprobe: Reprobe): void {
    clearTimeout(reprobe.timer);
    reprobe.timer = setTimeout(() => void this.reprobe(key), reprobe.delayMs);
  }

  /** Probes one failing server again; when the answer changed, revalidates the configs that use it. */
  private async reprobe(key: string): Promise<void> {
    const reprobe = this.pending.get(key);
    if (!reprobe || reprobe.running) return;
    clearTimeout(reprobe.timer);
    reprobe.running = true;
    let answered = false;
    try {
      const users = [...this.registry.probedOutcomes()].filter(
        ({ pool }) => FactsCache.key(pool.target) === key,
      );
      const settings = users[0]?.entry.settings ?? (await this.registry.currentSettings());
      const before = users.map(({ outcome }) => (outcome && !outcome.ok ? outcome.failure.class : 'ok'));
      this.registry.facts.forget(reprobe.target);
      const outcome = await this.registry.facts.get(reprobe.target, {
        maxAgeMs: settings.factsMaxAgeMs,
        connectTimeoutMs: settings.connectTimeoutMs,
      });
      answered = outcome.ok;
      const now = outcome.ok ? 'ok' : outcome.failure.class;
      if (before.some((b) => b !== now)) {
        this.registry.revalidate(new Set(users.map(({ entry }) => entry.uri)));
      }
      if (!outcome.ok)
        reprobe.delayMs = Math.min(
          reprobe.delayMs * 2,
          Math.max(settings.factsMaxAgeMs, REPROBE_FIRST_DELAY_MS),
        );
    } catch (error) {
      this.registry.log(`re-probe failed: ${String(error)}`);
    } finally {
      reprobe.running = false;
      // The server answered: the revalidation (if the answer changed anything) decides again.
      if (answered) {
        if (this.pending.get(key) === reprobe) this.pending.delete(key);
      } else if (this.pending.get(key) === reprobe) this.armReprobe(key, reprobe);
    }
  }

  /**
   * The status bar and the diagnostics must not disagree for longer than one poll: a server the
   * poll reaches again is re-probed at once, and one it lost is probed again so its configs learn it.
   */
  followPolledStates(servers: readonly ServerStatus[]): void {
    for (const server of servers) {
      const previous = this.polledStates.get(server.serverKey);
      this.polledStates.set(server.serverKey, server.state);
      for (const { pool, outcome } of this.registry.probedOutcomes()) {
        if (serverKey(pool.target) !== server.serverKey || !outcome) continue;
        const key = FactsCache.key(pool.target);
        if (server.state === 'ok' && !outcome.ok && UNREACHABLE_CLASSES.includes(outcome.failure.class)) {
          void this.reprobe(key);
        } else if (server.state === 'unreachable' && previous !== 'unreachable' && outcome.ok) {
          // Lost since the last poll, or unreachable at the first poll that watched it: the
          // diagnostics said ok, so probe again to agree.
          const reprobe: Reprobe = this.pending.get(key) ?? {
            target: pool.target,
            delayMs: REPROBE_FIRST_DELAY_MS,
            running: false,
          };
          this.pending.set(key, reprobe);
          void this.reprobe(key);
        }
      }
    }
  }

  dispose(): void {
    for (const reprobe of this.pending.values()) clearTimeout(reprobe.timer);
    this.pending.clear();
  }
}
