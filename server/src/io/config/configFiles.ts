/**
 * The config's files as this machine has them: the config itself, the workspace `.env`, libpq's
 * password file and the TLS certificate and key files the config names. Resolution (core/config)
 * reads none of them: these functions read them and pass what they found in.
 */
import { closeSync, constants, fstatSync, openSync, readSync, statSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { homedir, userInfo } from 'node:os';
import { dirname, join } from 'node:path';
import { parse as parseDotenv } from 'dotenv';
import pgpass from 'pgpass';
import { type PoolCapacitySettings, settingsDefaults } from '../../../../shared/settings';
import { MAX_CONFIG_CHARS } from '../../core/config/configDocument';
import {
  type ConfigEnvironment,
  resolveTarget as resolveTargetWith,
  type SettingsFiles,
  type TargetResolution,
} from '../../core/config/connectionSettings';
import { type LoadedConfig, resolveConfigText } from '../../core/config/loadedConfig';
import type { PoolDeclaration } from '../../core/config/poolConfig';
import { echoValue } from '../../core/config/secretScrubber';
import type { ConnectionTarget } from '../../core/connection/connectionTarget';

/** This machine's files, for core/config's resolution. */
export const machineSettingsFiles: SettingsFiles = {
  fileProblem: (path) => settingsFileProblem(path),
  pgpassPassword: passwordFromPgpass,
  osUserName: safeUserName,
};

/** A config's text resolved with the workspace `.env` and this machine's pgpass and certificate files. */
export async function resolveConfig(
  path: string,
  text: string,
  processEnv: ConfigEnvironment,
  settings: PoolCapacitySettings = settingsDefaults,
): Promise<LoadedConfig> {
  const env = await loadConfigEnvironment(path, processEnv);
  return resolveConfigText(path, text, env, machineSettingsFiles, settings);
}

/** One pool's connection target, with this machine's pgpass and certificate files. */
export function resolveTarget(
  pool: PoolDeclaration,
  env: ConfigEnvironment,
  options: { allowPlainPasswordHosts?: readonly string[] } = {},
): Promise<TargetResolution> {
  return resolveTargetWith(pool, env, machineSettingsFiles, options);
}

export async function loadConfigFile(
  path: string,
  env: ConfigEnvironment = process.env,
  settings: PoolCapacitySettings = settingsDefaults,
): Promise<LoadedConfig> {
  return resolveConfig(path, await readConfigText(path), env, settings);
}

/**
 * Reads a config file, refusing one longer than the largest config this product reads
 * (MAX_CONFIG_CHARS) before reading it whole: a 2 GB file is a clear error, not a 2 GB process.
 */
export async function readConfigText(path: string): Promise<string> {
  const file = await open(path, 'r');
  try {
    const stat = await file.stat();
    // UTF-8 takes at least one byte per character, so a file this long has too many characters.
    const limit = MAX_CONFIG_CHARS * 4;
    if (!stat.isFile() || stat.size > limit) {
      throw Object.assign(
        new Error(
          stat.isFile()
            ? `the config is ${stat.size} bytes; the largest config Pool Capacity reads is ${MAX_CONFIG_CHARS} characters`
            : 'not a regular file',
        ),
        { code: 'ECONFIGSIZE' },
      );
    }
    return await file.readFile('utf8');
  } finally {
    await file.close();
  }
}

/**
 * The most this product reads of a `.env`, pgpass, certificate or key file: such files are a few
 * kilobytes (a full CA bundle is ~250 KB), and a path such as /dev/zero must not be read for ever.
 */
export const MAX_SETTINGS_FILE_BYTES = 1024 * 1024;

/** Why a file cannot be one of our settings files, or undefined when it can. */
export function settingsFileProblem(path: string, limit = MAX_SETTINGS_FILE_BYTES): string | undefined {
  try {
    const stat = statSync(path);
    if (!stat.isFile()) return `${echoValue(path)} is not a regular file`;
    if (stat.size > limit)
      return `${echoValue(path)} is ${stat.size} bytes, more than the ${limit} this product reads`;
    return undefined;
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    return code === 'ENOENT'
      ? `${echoValue(path)} does not exist`
      : `${echoValue(path)} cannot be read (${code})`;
  }
}

/**
 * Reads a small regular file whole, or throws saying why not: never a device, a FIFO (opened
 * non-blocking, so a FIFO without a writer cannot hang us) or more than `limit` bytes, even if the
 * file grows while we read it.
 */
export function readSettingsFile(path: string, limit = MAX_SETTINGS_FILE_BYTES): Buffer {
  const problem = settingsFileProblem(path, limit);
  if (problem) throw Object.assign(new Error(problem), { code: 'ESETTINGSFILE' });
  const fd = openSync(path, constants.O_RDONLY | (constants.O_NONBLOCK ?? 0));
  try {
    if (!fstatSync(fd).isFile())
      throw Object.assign(new Error(`${echoValue(path)} is not a regular file`), { code: 'ESETTINGSFILE' });
    const buffer = Buffer.alloc(limit + 1);
    let length = 0;
    for (let n = -1; n !== 0 && length <= limit; length += n)
      n = readSync(fd, buffer, length, limit + 1 - length, null);
    if (length > limit) {
      throw Object.assign(
        new Error(`${echoValue(path)} is more than the ${limit} bytes this product reads`),
        {
          code: 'ESETTINGSFILE',
        },
      );
    }
    return buffer.subarray(0, length);
  } finally {
    closeSync(fd);
  }
}

/**
 * `.env` next to `.claude-flow/` (the workspace root), merged under the process environment:
 * a variable set in the process wins over the file, as with dotenv and docker compose.
 */
export async function loadConfigEnvironment(
  configPath: string,
  processEnv: ConfigEnvironment,
): Promise<ConfigEnvironment> {
  const fileEnv = readDotenv(join(dirname(dirname(configPath)), '.env'));
  const merged: ConfigEnvironment = { ...fileEnv };
  for (const [name, value] of Object.entries(processEnv)) if (value !== undefined) merged[name] = value;
  return merged;
}

/** Parsed `.env` files by path, reused while the file's mtime and size stay the same. */
const dotenvCache = new Map<string, { mtimeMs: number; size: number; values: Record<string, string> }>();

/**
 * Every validation needs the workspace `.env`; reading a small file synchronously and only when it
 * changed keeps that off the event loop and out of the validation's tail latency.
 */
function readDotenv(path: string): Record<string, string> {
  try {
    const stat = statSync(path);
    const cached = dotenvCache.get(path);
    if (cached && cached.mtimeMs === stat.mtimeMs && cached.size === stat.size) return cached.values;
    // An oversized or special .env is read as none (the same as a missing one).
    const values = parseDotenv(readSettingsFile(path));
    dotenvCache.set(path, { mtimeMs: stat.mtimeMs, size: stat.size, values });
    return values;
  } catch {
    // No .env is the common case.
    dotenvCache.delete(path);
    return {};
  }
}

/** Forget cached `.env` files (the language server calls it when a watched `.env` changes). */
export function forgetDotenvFiles(): void {
  dotenvCache.clear();
}

/** libpq's default user: the operating-system user (postgres when the OS cannot say). */
function safeUserName(): string {
  try {
    return userInfo().username;
  } catch {
    return 'postgres';
  }
}

/** libpq's password file, read with the `pgpass` package (PGPASSFILE or ~/.pgpass, 0600 only). */
function passwordFromPgpass(target: ConnectionTarget, env: ConfigEnvironment): Promise<string | undefined> {
  // The pgpass package takes the file name from process.env.PGPASSFILE, synchronously when
  // called; honour a workspace-level PGPASSFILE by setting it just for that call.
  const previous = process.env.PGPASSFILE;
  const file = env.PGPASSFILE ?? previous ?? join(homedir(), '.pgpass');
  // The package streams the file line by line with no bound: a huge file or a device is skipped here.
  if (settingsFileProblem(file)) return Promise.resolve(undefined);
  process.env.PGPASSFILE = file;
  return new Promise<string | undefined>((resolve) => {
    const timer = setTimeout(() => resolve(undefined), 2000);
    try {
      pgpass(
        { host: target.host, port: target.port, database: target.database, user: target.user },
        (pass) => {
          clearTimeout(timer);
          resolve(pass ?? undefined);
        },
      );
    } finally {
      if (previous === undefined) delete process.env.PGPASSFILE;
      else process.env.PGPASSFILE = previous;
    }
  });
}
