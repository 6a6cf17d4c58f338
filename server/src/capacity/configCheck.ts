import type { PoolCapacitySettings } from '../../../shared/settings';
import { readClusterOutcome } from '../cluster/patroniCheck';
import { readablePatroniPool } from '../cluster/patroniRules';
import type { LoadedConfig } from '../config/loadConfig';
import { probedPools } from '../config/loadConfig';
import type { ResolvedPool } from '../config/poolConfig';
import type { FactsCache } from './factsCache';
import { diagnose, type PoolDiagnostic, type PoolOutcomes } from './rules';

export interface CheckOptions {
  /** False in an untrusted workspace: only the checks that need no server run. */
  allowConnect: boolean;
  /** Called with the whole set of findings each time another server answers. */
  onUpdate?: (diagnostics: PoolDiagnostic[], outcomes: PoolOutcomes) => void;
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
  const initial = diagnose(config, outcomes, settings);
  options.onUpdate?.(initial, { ...outcomes });
  if (pending.length === 0 && !patroni) return { diagnostics: initial, outcomes };
  const readCluster = async (pool: ResolvedPool) => {
    outcomes.cluster = await readClusterOutcome(pool, (target) =>
      cache.get(target, { maxAgeMs: settings.factsMaxAgeMs, connectTimeoutMs: settings.connectTimeoutMs }),
    );
    options.onUpdate?.(diagnose(config, outcomes, settings), { ...outcomes });
  };
  await Promise.all([
    ...(patroni ? [readCluster(patroni)] : []),
    ...pending.map(async (pool) => {
      outcomes[pool.name] = await cache.get(pool.target, {
        maxAgeMs: settings.factsMaxAgeMs,
        connectTimeoutMs: settings.connectTimeoutMs,
      });
      options.onUpdate?.(diagnose(config, outcomes, settings), { ...outcomes });
    }),
  ]);
  return { diagnostics: diagnose(config, outcomes, settings), outcomes };
}
