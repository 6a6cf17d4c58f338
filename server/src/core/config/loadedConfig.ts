import {
  DEFAULT_TARGET_AGENTS,
  type PoolCapacitySettings,
  settingsDefaults,
} from '../../../../shared/settings';
import { inactiveReason } from '../cluster/patroniSettings';
import { parseConfigDocument } from './configDocument';
import {
  type ConfigEnvironment,
  expandVariables,
  resolveTarget,
  type SettingsFiles,
} from './connectionSettings';
import type { ConfigDocument, ConfigSyntaxError, ConfigValue, OffsetRange, ResolvedPool } from './poolConfig';
import { collectSecrets, echoValue, type Scrub, scrubberOf, writtenPasswords } from './secretScrubber';

/** A config read and resolved: the unit the checker, the hover, the CLI and the load test work on. */
export interface LoadedConfig {
  path: string;
  text: string;
  document: ConfigDocument;
  pools: ResolvedPool[];
  /** settings.targetAgents, else swarm.maxAgents, else 35. */
  targetAgents: number;
  targetAgentsSource: 'setting' | 'swarm.maxAgents' | 'default';
  /** Removes every password this config brought in from text before it is shown (one scrubber). */
  scrub: Scrub;
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
  const shown = raw === null || raw === undefined || raw === '' ? 'empty' : echoValue(raw);
  return { problem: `${value.key} must be a whole number of at least 1, not ${shown}` };
}

/**
 * A config's text resolved in `env` (the process environment over the workspace `.env`), with
 * `files` answering for pgpass and the certificate files. io/config/configFiles.ts `resolveConfig`
 * reads both from the machine.
 */
export async function resolveConfigText(
  path: string,
  text: string,
  env: ConfigEnvironment,
  files: SettingsFiles,
  settings: PoolCapacitySettings = settingsDefaults,
): Promise<LoadedConfig> {
  const document = parseConfigDocument(text, path);
  const pools = await Promise.all(
    document.pools.map(async (declaration): Promise<ResolvedPool> => {
      const resolution = await resolveTarget(declaration, env, files, {
        allowPlainPasswordHosts: settings.allowPlainPasswordHosts,
      });
      const size = readPoolSize(declaration.size, env);
      const min = readPoolSize(declaration.min, env);
      return {
        declaration,
        name: declaration.name,
        poolSize: size.size,
        minSize: min.size,
        ...(size.problem ? { poolSizeProblem: size.problem } : {}),
        ...(min.problem ? { minSizeProblem: min.problem } : {}),
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
  const scrub = scrubberOf(
    collectSecrets({
      passwords: pools.map((pool) => pool.target.password),
      written: writtenPasswords(text),
      environment: env,
      referenced: pools.flatMap((pool) => pool.resolution.passwordVariables),
    }),
  );
  return { path, text, document, pools, targetAgents, targetAgentsSource, scrub };
}

/**
 * The syntax error inside a pool's own text, if any. The parser then may have dropped or misread
 * its connection keys, and probing what is left would reach libpq's defaults (someone else's
 * server) instead of the one meant. An error touching either end of the pool counts too.
 */
export function poolSyntaxError(
  config: Pick<LoadedConfig, 'document'>,
  pool: Pick<ResolvedPool, 'declaration'>,
): ConfigSyntaxError | undefined {
  const { extent } = pool.declaration;
  return config.document.syntaxErrors.find(
    (error) => error.range.start <= extent.end && error.range.end >= extent.start,
  );
}

/**
 * Pools the server checks apply to: the patroni block names REST API hosts, not a PostgreSQL
 * server; a pool with an unusable connection value or broken YAML is never probed, so no guess
 * (libpq's defaults, `[object Object]` as a host) is ever connected to.
 */
export function probedPools(config: LoadedConfig): ResolvedPool[] {
  return config.pools.filter(
    (pool) =>
      pool.name !== 'patroni' &&
      // The layout the mode does not use (singleNode under patroni-ha) is checked for valid values only.
      inactiveReason(config.document, pool.name) === undefined &&
      pool.resolution.problems.length === 0 &&
      !poolSyntaxError(config, pool),
  );
}

/**
 * What stops `report` and `test` before they connect: syntax errors first, then connection
 * values that cannot be used, in the order they stand in the file.
 */
export function blockingProblems(
  config: LoadedConfig,
): { code: 'yaml-syntax' | 'invalid-connection-setting'; message: string; range: OffsetRange }[] {
  const syntax = config.document.syntaxErrors.map((error) => ({
    code: 'yaml-syntax' as const,
    message: `YAML syntax error: ${error.message}`,
    range: error.range,
  }));
  const settings = config.pools.flatMap((pool) =>
    pool.resolution.problems.map((problem) => ({
      code: 'invalid-connection-setting' as const,
      message: `${pool.name}: ${problem.message}`,
      range: problem.range,
    })),
  );
  return [...syntax, ...settings.sort((a, b) => a.range.start - b.range.start)];
}

/**
 * For the editor's load test and capacity report: the first problem that stops them, as one
 * sentence with its line and column (1-based), or undefined when the config can be used.
 */
export function brokenConfigMessage(config: LoadedConfig): string | undefined {
  const problems = blockingProblems(config);
  const first = problems[0];
  if (!first) return undefined;
  const before = config.text.slice(0, first.range.start);
  const line = before.split('\n').length;
  const column = first.range.start - (before.lastIndexOf('\n') + 1) + 1;
  const more = problems.length > 1 ? ` (and ${problems.length - 1} more in the Problems panel)` : '';
  return `The config has ${first.code === 'yaml-syntax' ? 'a syntax error' : 'an unusable connection setting'} to fix first, at line ${line}, column ${column}: ${first.message}${more}. Nothing was connected to.`;
}
