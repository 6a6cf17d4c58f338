/**
 * A config's capacity report from its live servers: one probe per server (and the Patroni cluster's
 * REST API), then core/capacity/capacityReport's plan.
 */
import type { PoolCapacitySettings } from '../../../../shared/settings';
import { type CapacityPlan, capacityPlan } from '../../core/capacity/capacityReport';
import type { PoolOutcomes } from '../../core/capacity/rules';
import { readablePatroniPool } from '../../core/cluster/patroniRules';
import { type LoadedConfig, probedPools } from '../../core/config/loadedConfig';
import { describeTarget, serverKey } from '../../core/connection/connectionTarget';
import { readClusterOutcome } from '../cluster/patroniCheck';
import { probeServer } from './probeServer';

/**
 * Probes every pool's server (pools with the same role, database and server share one probe) and
 * plans. Unreachable pools are listed in `unreachable`, not thrown.
 */
export async function buildCapacityReport(
  config: LoadedConfig,
  settings: Pick<PoolCapacitySettings, 'headroomThreshold' | 'connectTimeoutMs'>,
  signal?: AbortSignal,
): Promise<CapacityPlan> {
  const probes = new Map<string, ReturnType<typeof probeServer>>();
  const outcomes: PoolOutcomes = {};
  await Promise.all([
    ...probedPools(config).map(async (pool) => {
      const id = `${describeTarget(pool.target)}\0${serverKey(pool.target)}`;
      if (!probes.has(id))
        probes.set(id, probeServer(pool.target, { connectTimeoutMs: settings.connectTimeoutMs, signal }));
      outcomes[pool.name] = await probes.get(id)!;
    }),
    patroniReport(config, outcomes, settings, signal),
  ]);
  return capacityPlan(config, outcomes, settings);
}

/** The Patroni cluster, when the config uses one: its REST API, then each member's probe. */
export async function patroniReport(
  config: LoadedConfig,
  outcomes: PoolOutcomes,
  settings: Pick<PoolCapacitySettings, 'connectTimeoutMs'>,
  signal?: AbortSignal,
): Promise<void> {
  const pool = readablePatroniPool(config);
  if (!pool) return;
  outcomes.cluster = await readClusterOutcome(
    pool,
    (target) => probeServer(target, { connectTimeoutMs: settings.connectTimeoutMs, signal }),
    signal,
  );
}
