/**
 * The backoff re-read of a Patroni cluster whose REST API did not answer (or named no leader): the
 * patroni-api-unreachable and no-leader diagnostics clear by themselves when the cluster is back,
 * without an edit, as server-unreachable does for a single server (serverReprobes.ts).
 */

import { leaderOf } from '../core/cluster/patroniParse';
import type { ClusterOutcome } from '../core/cluster/patroniRules';
import { patroniSettings } from '../core/cluster/patroniSettings';
import type { ResolvedPool } from '../core/config/poolConfig';
import { readPatroniCluster } from '../io/cluster/patroniApi';

/** The first re-read; each one that finds the cluster still lost doubles it, up to the cap. */
const FIRST_DELAY_MS = 2000;
const MAX_DELAY_MS = 60_000;

/** A config's cluster as the registry last judged it. */
export interface ClusterUse {
  uri: string;
  pool: ResolvedPool;
  outcome?: ClusterOutcome;
}

interface Reread {
  pool: ResolvedPool;
  delayMs: number;
  timer?: NodeJS.Timeout;
}

/** A cluster is "lost" when its REST API did not answer, or answered without a single leader. */
export function clusterLost(outcome: ClusterOutcome | undefined): boolean {
  return outcome !== undefined && (!outcome.ok || leaderOf(outcome.view.state) === undefined);
}

export class ClusterReprobes {
  /** By config URI. */
  private readonly pending = new Map<string, Reread>();

  constructor(
    private readonly source: {
      trusted: boolean;
      clusterUses(): Iterable<ClusterUse>;
      revalidate(uris: Iterable<string>): void;
      log(message: string): void;
    },
  ) {}

  /** After a validation: one backoff re-read per config whose cluster is lost, none for the rest. */
  update(): void {
    const lost = new Map<string, ResolvedPool>();
    if (this.source.trusted)
      for (const use of this.source.clusterUses()) if (clusterLost(use.outcome)) lost.set(use.uri, use.pool);
    for (const [uri, reread] of this.pending) {
      if (!lost.has(uri)) {
        clearTimeout(reread.timer);
        this.pending.delete(uri);
      }
    }
    for (const [uri, pool] of lost) {
      const reread = this.pending.get(uri);
      if (reread) reread.pool = pool;
      else {
        const fresh: Reread = { pool, delayMs: FIRST_DELAY_MS };
        this.pending.set(uri, fresh);
        this.arm(uri, fresh);
      }
    }
  }

  private arm(uri: string, reread: Reread): void {
    clearTimeout(reread.timer);
    reread.timer = setTimeout(() => void this.reread(uri, reread), reread.delayMs);
  }

  /** Reads the REST API again; when a leader answers, the config is validated again (which decides). */
  private async reread(uri: string, reread: Reread): Promise<void> {
    try {
      const read = await readPatroniCluster(patroniSettings(reread.pool.declaration));
      if (this.pending.get(uri) !== reread) return;
      if (read.ok && leaderOf(read.view.state)) {
        this.pending.delete(uri);
        this.source.revalidate([uri]);
        return;
      }
    } catch (error) {
      this.source.log(`cluster re-read failed: ${String(error)}`);
    }
    if (this.pending.get(uri) !== reread) return;
    reread.delayMs = Math.min(reread.delayMs * 2, MAX_DELAY_MS);
    this.arm(uri, reread);
  }

  dispose(): void {
    for (const reread of this.pending.values()) clearTimeout(reread.timer);
    this.pending.clear();
  }
}
