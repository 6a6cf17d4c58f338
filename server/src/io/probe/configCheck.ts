import type { PoolCapacitySettings } from '../../../../shared/settings';
import { diagnose, type PoolDiagnostic, type PoolOutcomes } from '../../core/capacity/rules';
import { readablePatroniPool } from '../../core/cluster/patroniRules';
import type { LoadedConfig } from '../../core/config/loadedConfig';
import { probedPools } from '../../core/config/loadedConfig';
import type { ResolvedPool } from '../../core/config/poolConfig';
import { readClusterOutcome } from '../cluster/patroniCheck';
import type { FactsCache } from './factsCache';

export interface CheckOptions {
  /** False in an untrusted workspace: only the checks that need no server run. */
  allowConnect: boolean;
  /** Called with the whole set of findings each time another server answers. */
  onUpdate?: (diagnostics: PoolDiagnostic[], outcomes: PoolOutcomes) => void;
  /**
   * The previous validation's outcomes of pools (and cluster) whose server is unchanged: shown
   * until the new probe answers, so a re-validation never drops a server finding only to add it back.
   */
  assumed?: PoolOutcomes;
}

/**
 * Checks a config: the findings that need no server at once, then each server's findings as its
 * probe answers, so one slow or unreachable server never delays the others.
 */
export async function checkConfig(
  config: LoadedConfig,
  cache: FactsCache,
  settings: PoolCapacitySettings,
  options: CheckOptions,
): Promise<{ diagnostics: PoolDiagnostic[]; outcomes: PoolOutcomes }> {
  const outcomes: PoolOutcomes = {};
  const pools = options.allowConnect ? probedPools(config) : [];
  // Fresh cached facts count at once; only the rest wait for a probe.
  const pending = pools.filter((pool) => {
    const cached = cache.peek(pool.target, settings.factsMaxAgeMs);
    if (cached) outcomes[pool.name] = cached;
    return !cached;
  });
  // A Patroni cluster in use: its REST API, then each member's PostgreSQL (through the same cache).
  const patroni = options.allowConnect ? readablePatroniPool(config) : undefined;
  // What the editor shows meanwhile: the new answers over the previous ones still awaited.
  const assumed: PoolOutcomes = {};
  for (const pool of pending) {
    const previous = options.assumed?.[pool.name];
    if (previous) assumed[pool.name] = previous;
  }
  if (patroni && options.assumed?.cluster) assumed.cluster = options.assumed.cluster;
  const shown = (): PoolOutcomes => ({ ...assumed, ...outcomes });
  const initial = diagnose(config, shown(), settings);
  options.onUpdate?.(initial, shown());
  if (pending.length === 0 && !patroni) return { diagnostics: initial, outcomes };
  const readCluster = async (pool: ResolvedPool) => {
    outcomes.cluster = await readClusterOutcome(pool, (target) =>
      cache.get(target, { maxAgeMs: settings.factsMaxAgeMs, connectTimeoutMs: settings.connectTimeoutMs }),
    );
    options.onUpdate?.(diagnose(config, shown(), settings), shown());
  };
  await Promise.all([
    ...(patroni ? [readCluster(patroni)] : []),
    ...pending.map(async (pool) => {
      outcomes[pool.name] = await cache.get(pool.target, {
        maxAgeMs: settings.factsMaxAgeMs,
        connectTimeoutMs: settings.connectTimeoutMs,
      });
      options.onUpdate?.(diagnose(config, shown(), settings), shown());
    }),
  ]);
  return { diagnostics: diagnose(config, outcomes, settings), outcomes };
}
