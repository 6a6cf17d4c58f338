/** A load test's plan against live servers: core/loadtest/plan's rules with one probe per pool. */
import type { LoadTestOptions } from '../../../../shared/loadTest';
import type { PoolCapacitySettings } from '../../../../shared/settings';
import {
  type LoadTestPool,
  LoadTestSetupError,
  type PlannedPool,
  selectPools,
  serverDemands,
  splitAgents,
  unreachableServerMessage,
  validateOptions,
  validatePoolSizes,
} from '../../core/loadtest/plan';
import { checkLoadTestSafety, LoadTestRefused } from '../../core/loadtest/safety';
import { abortError } from '../db/openConnection';
import { probeServer } from '../probe/probeServer';

/**
 * The run's plan: throws LoadTestSetupError (bad options, missing pool, server unreachable) or
 * LoadTestRefused (safety, unless options.force). Reads the servers' free slots with one short
 * probe per pool (roles may differ).
 */
export async function planLoadTest(
  pools: readonly LoadTestPool[],
  options: LoadTestOptions,
  settings: PoolCapacitySettings,
  signal?: AbortSignal,
): Promise<PlannedPool[]> {
  validateOptions(options);
  const selected = selectPools(pools, options.pool);
  validatePoolSizes(selected);
  const shares = splitAgents(
    options.agents,
    selected.map((p) => p.poolSize!),
  );
  const probes = await Promise.all(
    selected.map((pool) => probeServer(pool.target, { connectTimeoutMs: settings.connectTimeoutMs, signal })),
  );
  if (signal?.aborted) throw abortError();
  const plan = selected.map((pool, i) => {
    const probe = probes[i]!;
    if (!probe.ok) throw new LoadTestSetupError(unreachableServerMessage(pool, probe.failure));
    return { pool, agents: shares[i]!, facts: probe.facts };
  });
  if (!options.force) {
    const safety = checkLoadTestSafety(serverDemands(plan, options.mode), settings);
    if (!safety.ok) throw new LoadTestRefused(safety.reasons);
  }
  return plan;
}
