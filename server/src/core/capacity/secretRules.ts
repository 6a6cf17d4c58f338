import type { PoolCapacitySettings } from '../../../../shared/settings';
import { MAX_CONFIG_CHARS } from '../config/configDocument';
import type { LoadedConfig } from '../config/loadedConfig';
import { serverKey } from '../connection/connectionTarget';
import type { PoolDiagnostic } from './rules';

/** Hosts that are this machine: a password sent there stays here. */
function isLocalHost(host: string): boolean {
  const h = host.toLowerCase().replace(/^\[|\]$/g, '');
  return h.startsWith('/') || h === 'localhost' || h === '::1' || /^127(?:\.\d{1,3}){3}$/.test(h);
}

/** A host the user confirmed (poolCapacity.trustedHosts), or this machine. */
function isConfirmedHost(host: string, settings: Pick<PoolCapacitySettings, 'trustedHosts'>): boolean {
  return isLocalHost(host) || settings.trustedHosts.some((h) => h.toLowerCase() === host.toLowerCase());
}

/**
 * Findings about the config as a whole and about where its secrets go:
 * - `config-too-large`: the text is longer than this product reads, so nothing was checked;
 * - `secret-from-environment`: a pool's password comes from an environment variable (or `.env`)
 *   while the host it goes to is chosen by the config, which may come from a cloned repository,
 *   and is not one the user confirmed.
 */
export function secretDiagnostics(config: LoadedConfig, settings: PoolCapacitySettings): PoolDiagnostic[] {
  const out: PoolDiagnostic[] = [];
  const tooLarge = config.document.tooLarge;
  if (tooLarge) {
    out.push({
      code: 'config-too-large',
      severity: 'error',
      message: `the config is ${tooLarge.length} characters long; Pool Capacity checks configs of up to ${MAX_CONFIG_CHARS} characters and checked nothing here`,
      range: { start: 0, end: Math.min(1, config.text.length) },
    });
  }
  for (const pool of config.pools) {
    const variables = pool.resolution.passwordVariables;
    if (variables.length === 0 || isConfirmedHost(pool.target.host, settings)) continue;
    const names = variables.map((v) => `\${${v}}`).join(', ');
    out.push({
      code: 'secret-from-environment',
      severity: 'information',
      message: `${pool.name}: the password from ${names} will be sent to ${serverKey(pool.target)}, a host this config chooses; if it is yours, add "${pool.target.host}" to poolCapacity.trustedHosts`,
      range: pool.declaration.connection.password?.range ?? pool.declaration.keyRange,
      pool: pool.name,
    });
  }
  return out;
}
