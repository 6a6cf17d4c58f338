import { existsSync } from 'node:fs';
import { access, readFile, stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { type Command, InvalidArgumentError } from 'commander';
import { isMap, parseDocument } from 'yaml';
import { DEFAULT_TARGET_AGENTS, type PoolCapacitySettings, settingsDefaults } from '../../../shared/settings';
import type { LoadedConfig } from '../core/config/loadedConfig';
import { loadConfigFile } from '../io/config/configFiles';

export const DEFAULT_CONFIG = '.claude-flow/config.yaml';

/** A usage mistake: cliMain prints it as one line and exits 2. */
export class CliUsageError extends Error {}

/**
 * The config a command works on: the positional argument or `--config` (every command takes both),
 * else .claude-flow/config.yaml under the current directory.
 */
export function configPathFrom(argument: string | undefined, flag?: string): string {
  if (argument !== undefined && flag !== undefined && resolve(argument) !== resolve(flag)) {
    throw new CliUsageError(`two configs given (${argument} and --config ${flag}): pass one`);
  }
  return resolve(argument ?? flag ?? DEFAULT_CONFIG);
}

/** `--config <path>`, the same on every command. */
export function addConfigOption<T extends Command>(command: T): T {
  command.option(
    '--config <path>',
    `config file, instead of the positional argument (default ${DEFAULT_CONFIG})`,
  );
  return command;
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
  allowPlainPassword?: string[];
  trustedHost?: string[];
}

export function settingsFrom(flags: SettingsFlags): PoolCapacitySettings {
  return {
    ...settingsDefaults,
    targetAgents: flags.targetAgents ?? null,
    headroomThreshold: flags.headroom ?? settingsDefaults.headroomThreshold,
    connectTimeoutMs: flags.connectTimeout ?? settingsDefaults.connectTimeoutMs,
    allowPlainPasswordHosts: flags.allowPlainPassword ?? settingsDefaults.allowPlainPasswordHosts,
    trustedHosts: flags.trustedHost ?? settingsDefaults.trustedHosts,
  };
}

export function addSettingsFlags<T extends Command>(command: T): T {
  command
    .option(
      '--target-agents <n>',
      `concurrent agents a pool must serve (default: swarm.maxAgents, else ${DEFAULT_TARGET_AGENTS})`,
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
      'how long a connection attempt may take; a query may take twice that (at least 2 s)',
      positiveInteger,
      settingsDefaults.connectTimeoutMs,
    )
    .option(
      '--allow-plain-password <host>',
      'let this host ask for the password in clear text or MD5 without verified TLS (repeatable)',
      (host: string, hosts: string[] = []) => [...hosts, host],
    )
    .option(
      '--trusted-host <host>',
      'a host of yours: no secret-from-environment notice for it (repeatable)',
      (host: string, hosts: string[] = []) => [...hosts, host],
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
  const unusable = await whyNotAConfigFile(path);
  if (unusable) {
    // "cannot read" when the file system says no; "cannot use" when the content is not a config.
    failSetup(`cannot ${unusable.startsWith('it is not a') ? 'use' : 'read'} ${path}: ${unusable}`);
    return undefined;
  }
  try {
    return await loadConfigFile(path, process.env, settings);
  } catch (error) {
    failSetup(`cannot read ${path}: ${fileErrorText(error)}`);
    return undefined;
  }
}

function fileErrorText(error: unknown): string {
  const code = (error as NodeJS.ErrnoException).code;
  if (code === 'ENOENT') return 'no such file';
  if (code === 'EACCES' || code === 'EPERM')
    return 'permission denied (the file is not readable by this user)';
  if (code === 'EISDIR') return 'it is a directory, not a config file';
  return error instanceof Error ? error.message.split('\n')[0]! : String(error);
}

/**
 * One line saying why `path` cannot be a config, before anything parses it: a directory, an
 * unreadable file, binary content, or YAML whose top level is not a mapping. A config with YAML
 * syntax errors is a config: `check` reports them at their lines.
 */
export async function whyNotAConfigFile(path: string): Promise<string | undefined> {
  try {
    const info = await stat(path);
    if (info.isDirectory()) {
      const inside = join(path, DEFAULT_CONFIG);
      return `it is a directory, not a config file${existsSync(inside) ? ` (did you mean ${inside}?)` : ''}`;
    }
    if (!info.isFile()) return 'it is not a regular file';
    await access(path, 4 /* R_OK */);
    const bytes = await readFile(path);
    let text: string;
    try {
      text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
    } catch {
      return 'it is not a text file, so not a YAML config';
    }
    if (text.includes('\0')) return 'it is not a text file, so not a YAML config';
    const document = parseDocument(text);
    if (document.errors.length === 0 && document.contents !== null && !isMap(document.contents)) {
      return 'it is not a YAML config: its top level is not a mapping of keys (expected keys such as memory: or swarm:)';
    }
    return undefined;
  } catch (error) {
    return fileErrorText(error);
  }
}
