import { resolve } from 'node:path';
import { InvalidArgumentError } from 'commander';
import { type PoolCapacitySettings, settingsDefaults } from '../../../shared/settings';
import { type LoadedConfig, loadConfigFile } from '../config/loadConfig';

/** The config a command works on: the argument, else .claude-flow/config.yaml under the current directory. */
export function configPathFrom(argument: string | undefined): string {
  return resolve(argument ?? '.claude-flow/config.yaml');
}

export function positiveInteger(value: string): number {
  const parsed = Number(value);
  if (!Number.isInteger(parsed) || parsed < 1)
    throw new InvalidArgumentError('must be a whole number of at least 1');
  return parsed;
}

export function nonNegativeInteger(value: string): number {
  const parsed = Number(value);
  if (!Number.isInteger(parsed) || parsed < 0)
    throw new InvalidArgumentError('must be a whole number, 0 or more');
  return parsed;
}

export function ratio(value: string): number {
  const parsed = Number(value.endsWith('%') ? Number(value.slice(0, -1)) / 100 : value);
  if (!Number.isFinite(parsed) || parsed < 0 || parsed >= 1)
    throw new InvalidArgumentError('must be between 0 and 1 (or 0% to 99%)');
  return parsed;
}

/** The settings flags every command shares, with the editor's defaults. */
export interface SettingsFlags {
  targetAgents?: number;
  headroom?: number;
  connectTimeout?: number;
}

export function settingsFrom(flags: SettingsFlags): PoolCapacitySettings {
  return {
    ...settingsDefaults,
    targetAgents: flags.targetAgents ?? null,
    headroomThreshold: flags.headroom ?? settingsDefaults.headroomThreshold,
    connectTimeoutMs: flags.connectTimeout ?? settingsDefaults.connectTimeoutMs,
  };
}

export function addSettingsFlags<T extends import('commander').Command>(command: T): T {
  command
    .option(
      '--target-agents <n>',
      'concurrent agents a pool must serve (default: swarm.maxAgents, else 35)',
      positiveInteger,
    )
    .option(
      '--headroom <ratio>',
      'warn when less than this share of usable slots stays free',
      ratio,
      settingsDefaults.headroomThreshold,
    )
    .option(
      '--connect-timeout <ms>',
      'how long a connection attempt may take',
      positiveInteger,
      settingsDefaults.connectTimeoutMs,
    );
  return command;
}

/** Prints a one-line "cannot run" message (no stack trace) and gives exit code 2. */
export function failSetup(message: string): number {
  console.error(`pool-capacity: ${message}`);
  return 2;
}

/** Reads and resolves the config, or says in one line why it cannot (and the caller exits 2). */
export async function loadCliConfig(
  path: string,
  settings: PoolCapacitySettings,
): Promise<LoadedConfig | undefined> {
  try {
    return await loadConfigFile(path, process.env, settings);
  } catch (error) {
    const reason = (error as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : String(error);
    failSetup(`cannot read ${path}: ${reason}`);
    return undefined;
  }
}
