import { readFile } from 'node:fs/promises';
import { DEFAULT_TARGET_AGENTS, type PoolCapacitySettings, settingsDefaults } from '../../../shared/settings';
import { parseConfigDocument } from './configDocument';
import {
  type ConfigEnvironment,
  expandVariables,
  loadConfigEnvironment,
  resolveTarget,
} from './connectionSettings';
import type { ConfigDocument, ConfigValue, ResolvedPool } from './poolConfig';

/** A config read and resolved: the unit the checker, the hover, the CLI and the load test work on. */
export interface LoadedConfig {
  path: string;
  text: string;
  document: ConfigDocument;
  pools: ResolvedPool[];
  /** settings.targetAgents, else swarm.maxAgents, else 35. */
  targetAgents: number;
  targetAgentsSource: 'setting' | 'swarm.maxAgents' | 'default';
}

/** Reads a pool size as the host tool would: an integer >= 1, possibly through `${VAR}`. */
export function readPoolSize(
  value: (ConfigValue & { key: string }) | undefined,
  env: ConfigEnvironment,
): { size?: number; problem?: string } {
  if (!value) return {};
  let raw = value.value;
  if (typeof raw === 'string' && raw.includes('${')) raw = expandVariables(raw, env).value;
  if (typeof raw === 'string' && /^\s*\d+\s*$/.test(raw)) raw = Number(raw);
  if (typeof raw === 'number' && Number.isInteger(raw) && raw >= 1) return { size: raw };
  const shown = raw === null || raw === undefined || raw === '' ? 'empty' : JSON.stringify(raw);
  return { problem: `${value.key} must be a whole number of at least 1, not ${shown}` };
}

export async function resolveConfig(
  path: string,
  text: string,
  processEnv: ConfigEnvironment,
  settings: PoolCapacitySettings = settingsDefaults,
): Promise<LoadedConfig> {
  const document = parseConfigDocument(text);
  const env = await loadConfigEnvironment(path, processEnv);
  const pools = await Promise.all(
    document.pools.map(async (declaration): Promise<ResolvedPool> => {
      const resolution = await resolveTarget(declaration, env);
      const poolSize = readPoolSize(declaration.size, env).size;
      const minSize = readPoolSize(declaration.min, env).size;
      return {
        declaration,
        name: declaration.name,
        poolSize,
        minSize,
        target: resolution.target,
        resolution,
      };
    }),
  );
  const [targetAgents, targetAgentsSource] =
    settings.targetAgents !== null
      ? ([settings.targetAgents, 'setting'] as const)
      : document.maxAgents !== undefined
        ? ([document.maxAgents, 'swarm.maxAgents'] as const)
        : ([DEFAULT_TARGET_AGENTS, 'default'] as const);
  return { path, text, document, pools, targetAgents, targetAgentsSource };
}

export async function loadConfigFile(
  path: string,
  env: ConfigEnvironment = process.env,
  settings: PoolCapacitySettings = settingsDefaults,
): Promise<LoadedConfig> {
  const text = await readFile(path, 'utf8');
  return resolveConfig(path, text, env, settings);
}

/** Pools the server checks apply to: the patroni block names REST API hosts, not a PostgreSQL server. */
export function probedPools(config: LoadedConfig): ResolvedPool[] {
  return config.pools.filter((pool) => pool.name !== 'patroni' && pool.resolution.problems.length === 0);
}
