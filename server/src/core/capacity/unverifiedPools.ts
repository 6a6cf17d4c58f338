import { clusterUnverified, readablePatroniPool } from '../cluster/patroniRules';
import { endpointText, inactiveReason, patroniSettings } from '../cluster/patroniSettings';
import type { LoadedConfig } from '../config/loadedConfig';
import { poolSyntaxError, probedPools } from '../config/loadedConfig';
import type { PoolName, ResolvedPool } from '../config/poolConfig';
import { describeConnectFailure, type UnverifiedCode, unverifiedCode } from '../connection/connectFailure';
import { describeTarget } from '../connection/connectionTarget';
import type { PoolDiagnostic, PoolOutcomes } from './rules';

/**
 * A pool that could not be judged against its server gets a Warning on its key, with its own
 * code per reason: the config may be right or wrong, nobody knows yet. Warning, not Error,
 * because the config itself is not shown to be wrong; the CLI still fails the gate on it
 * (exit 3) unless `--allow-unverified`.
 */
export function unverifiedDiagnostics(config: LoadedConfig, outcomes: PoolOutcomes): PoolDiagnostic[] {
  const out: PoolDiagnostic[] = [];
  for (const pool of probedPools(config)) {
    const outcome = outcomes[pool.name];
    if (!outcome || outcome.ok) continue;
    out.push({
      code: unverifiedCode(outcome.failure.class),
      severity: 'warning',
      message: `${pool.name}: ${describeConnectFailure(describeTarget(pool.target), outcome.failure)}`,
      range: pool.declaration.keyRange,
      pool: pool.name,
    });
  }
  return out;
}

/** Why a pool was not judged: a probe failure, or a config the probe must not guess around. */
export type UnverifiedReason =
  | UnverifiedCode
  | 'yaml-syntax'
  | 'invalid-connection-setting'
  | 'not-probed'
  | 'patroni-api-unreachable'
  | 'no-leader';

export interface PoolVerification {
  name: PoolName;
  /** user@host:port/database, password-free. */
  server: string;
  verified: boolean;
  reason?: UnverifiedReason;
  message?: string;
}

/**
 * Per active pool (the layout the mode does not use is checked for validity only, so it is not
 * listed): whether its server was read; for the patroni pool, whether the cluster's REST API, its
 * leader and every member that may be promoted were read. `check --json` prints it and the exit
 * code follows it.
 */
export function poolVerifications(config: LoadedConfig, outcomes: PoolOutcomes): PoolVerification[] {
  const probed = new Set(probedPools(config));
  return config.pools
    .filter((pool) => inactiveReason(config.document, pool.name) === undefined)
    .map((pool): PoolVerification => {
      if (pool.name === 'patroni') return patroniVerification(config, pool, outcomes);
      const base = { name: pool.name, server: describeTarget(pool.target) };
      const syntax = poolSyntaxError(config, pool);
      if (syntax)
        return {
          ...base,
          verified: false,
          reason: 'yaml-syntax',
          message: `${pool.name}: not probed: the YAML of this pool does not parse (${syntax.message})`,
        };
      if (!probed.has(pool)) {
        const problem = pool.resolution.problems[0];
        return {
          ...base,
          verified: false,
          reason: 'invalid-connection-setting',
          message: `${pool.name}: not probed: ${problem?.message ?? 'a connection setting cannot be used'}`,
        };
      }
      const outcome = outcomes[pool.name];
      if (!outcome)
        return { ...base, verified: false, reason: 'not-probed', message: `${pool.name}: not probed` };
      if (!outcome.ok)
        return {
          ...base,
          verified: false,
          reason: unverifiedCode(outcome.failure.class),
          message: `${pool.name}: ${describeConnectFailure(base.server, outcome.failure)}`,
        };
      return { ...base, verified: true };
    });
}

/**
 * The hover's line for a pool that has no facts to show: not probed and why, still reading, or
 * the same words as its diagnostic. Undefined when the pool's server was read.
 */
export function unverifiedHoverLine(
  config: LoadedConfig,
  pool: ResolvedPool,
  outcomes: PoolOutcomes,
): string | undefined {
  const verification = poolVerifications(config, outcomes).find((v) => v.name === pool.name);
  if (!verification || verification.verified) return undefined;
  if (verification.reason === 'not-probed') return 'Reading the server…';
  const text = verification.message?.replace(/^\w+: /, '') ?? '';
  return `Not verified (\`${verification.reason}\`): ${text}`;
}

/** The patroni pool's verification: its settings, its REST API, its leader and promotable members. */
function patroniVerification(
  config: LoadedConfig,
  pool: ResolvedPool,
  outcomes: PoolOutcomes,
): PoolVerification {
  const api = patroniSettings(pool.declaration).endpoints.map(endpointText).join(', ');
  const base = { name: pool.name, server: `Patroni REST API ${api || '(none)'}` };
  const syntax = poolSyntaxError(config, pool);
  if (syntax)
    return {
      ...base,
      verified: false,
      reason: 'yaml-syntax',
      message: `patroni: not read: the YAML of this block does not parse (${syntax.message})`,
    };
  if (!readablePatroniPool(config)) {
    const problem = pool.resolution.problems[0] ?? patroniSettings(pool.declaration).problems[0];
    return {
      ...base,
      verified: false,
      reason: 'invalid-connection-setting',
      message: `patroni: not read: ${problem?.message ?? 'a setting cannot be used'}`,
    };
  }
  if (!outcomes.cluster)
    return { ...base, verified: false, reason: 'not-probed', message: 'patroni: the cluster was not read' };
  const unverified = clusterUnverified(config, outcomes);
  if (unverified) return { ...base, verified: false, ...unverified };
  return { ...base, verified: true };
}
