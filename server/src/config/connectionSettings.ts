import { closeSync, constants, fstatSync, openSync, readSync, statSync } from 'node:fs';
import { homedir, userInfo } from 'node:os';
import { dirname, join } from 'node:path';
import { parse as parseDotenv } from 'dotenv';
import pgpass from 'pgpass';
import type { ConnectionTarget } from '../db/connectionTarget';
import type { ConfigValue, OffsetRange, PoolDeclaration, PoolName } from './poolConfig';
import { echoValue } from './secretScrubber';

/** The environment a config is resolved in: the process environment over the workspace `.env`. */
export type ConfigEnvironment = Record<string, string | undefined>;

/** Where each resolved setting came from, for hovers and messages. */
export type SettingSource = 'config' | 'origin-env' | 'libpq-env' | 'pgpass' | 'default';

export interface UnresolvedVariable {
  name: string;
  range: OffsetRange;
}

export interface TargetResolution {
  target: ConnectionTarget;
  /**
   * The environment variables (process or `.env`) the password came from: `${VAR}` in the config,
   * the origin's *_PASSWORD or PGPASSWORD. Empty when it was written in the config or came from pgpass.
   */
  passwordVariables: string[];
  sources: Partial<Record<keyof ConnectionTarget, SettingSource>>;
  unresolved: UnresolvedVariable[];
  /** A config value that cannot be used (e.g. port "abc"): message and range. */
  problems: { message: string; range: OffsetRange }[];
}

/** The origin application's own variables per pool (see postgres-capacity.md). */
const ORIGIN_PREFIX: Partial<Record<PoolName, string>> = {
  project: 'RUVECTOR_',
  shared: 'SHARED_KNOWLEDGE_',
};

/**
 * The most this product reads of a `.env`, pgpass, certificate or key file: such files are a few
 * kilobytes (a full CA bundle is ~250 KB), and a path such as /dev/zero must not be read for ever.
 */
export const MAX_SETTINGS_FILE_BYTES = 1024 * 1024;

/** Why a file cannot be one of our settings files, or undefined when it can. */
function settingsFileProblem(path: string, limit = MAX_SETTINGS_FILE_BYTES): string | undefined {
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

const VARIABLE = /\$\{([A-Za-z_][A-Za-z0-9_]*)(?::?-([^}]*))?\}/g;

/** Expands `${VAR}` and `${VAR:-default}`; unset variables without a default are reported. */
export function expandVariables(text: string, env: ConfigEnvironment): { value: string; missing: string[] } {
  const missing: string[] = [];
  const value = text.replace(VARIABLE, (whole, name: string, fallback: string | undefined) => {
    const set = env[name];
    if (set !== undefined && (set !== '' || !whole.includes(':-'))) return set;
    if (fallback !== undefined) return fallback;
    missing.push(name);
    return '';
  });
  return { value, missing };
}

/**
 * Reads one pool's connection settings, each from the first source that has it, and collects what
 * it finds wrong (unset variables, values of the wrong kind) and where each value came from.
 */
function settingsReader(pool: PoolDeclaration, env: ConfigEnvironment) {
  const unresolved: UnresolvedVariable[] = [];
  const problems: TargetResolution['problems'] = [];
  const sources: TargetResolution['sources'] = {};
  const prefix = ORIGIN_PREFIX[pool.name];

  const fromConfig = (key: string): string | undefined => {
    const entry: ConfigValue | undefined = pool.connection[key];
    if (!entry || entry.value === null || entry.value === undefined) return undefined;
    // A map, a list or a boolean is no host, port, user or database: stringified it would be
    // looked up as "[object Object]", and skipped it would silently fall back to another source.
    if (typeof entry.value !== 'string' && typeof entry.value !== 'number') {
      problems.push({
        message: `${key} must be a single text value, not ${kindOf(entry.value)}`,
        range: entry.range,
      });
      return undefined;
    }
    const expanded = expandVariables(String(entry.value), env);
    for (const name of expanded.missing) unresolved.push({ name, range: entry.range });
    return expanded.value === '' ? undefined : expanded.value;
  };
  /** The origin's own variable (RUVECTOR_HOST, ...), when the pool has an origin. */
  const fromOrigin = (suffix: string) => (prefix ? nonEmpty(env[prefix + suffix]) : undefined);
  const pick = (
    field: keyof ConnectionTarget,
    configKey: string,
    originSuffix: string,
    libpqName: string,
  ): string | undefined => {
    const candidates: [string | undefined, SettingSource][] = [
      [fromConfig(configKey), 'config'],
      [fromOrigin(originSuffix), 'origin-env'],
      [nonEmpty(env[libpqName]), 'libpq-env'],
    ];
    for (const [value, source] of candidates) {
      if (value !== undefined) {
        sources[field] = source;
        return value;
      }
    }
    return undefined;
  };
  return { prefix, unresolved, problems, sources, fromConfig, fromOrigin, pick };
}

type SettingsReader = ReturnType<typeof settingsReader>;

/**
 * Resolves where a pool connects: the pool's own keys, else the origin's env variables
 * (RUVECTOR_* / SHARED_KNOWLEDGE_*), else libpq's PG* variables, else libpq's defaults.
 * The password falls back to ~/.pgpass (or PGPASSFILE) last, as libpq does.
 */
export async function resolveTarget(
  pool: PoolDeclaration,
  env: ConfigEnvironment,
  options: { allowPlainPasswordHosts?: readonly string[] } = {},
): Promise<TargetResolution> {
  const reader = settingsReader(pool, env);
  const { pick, sources } = reader;
  const host = pick('host', 'host', 'HOST', 'PGHOST') ?? 'localhost';
  const port = resolvePort(reader, pool);
  const user = pick('user', 'user', 'USER', 'PGUSER') ?? safeUserName();
  const database = pick('database', 'database', 'DB', 'PGDATABASE') ?? user;
  let password = pick('password', 'password', 'PASSWORD', 'PGPASSWORD');
  for (const field of ['host', 'user', 'database'] as const) sources[field] ??= 'default';
  sources.port ??= 'default';

  const target: ConnectionTarget = { host, port, database, user };
  resolveSsl(reader, pool, env, target);
  if (options.allowPlainPasswordHosts?.some((h) => h.toLowerCase() === host.toLowerCase()))
    target.allowPlainPassword = true;
  if (password === undefined) {
    password = await passwordFromPgpass(target, env);
    if (password !== undefined) sources.password = 'pgpass';
  }
  if (password !== undefined) target.password = password;
  return {
    target,
    sources,
    unresolved: reader.unresolved,
    problems: reader.problems,
    passwordVariables: passwordVariables(pool, sources, env, reader.prefix),
  };
}

/** The port, 5432 unless a source names one; a value that is no TCP port is a problem (and 5432). */
function resolvePort(reader: SettingsReader, pool: PoolDeclaration): number {
  const portText = reader.pick('port', 'port', 'PORT', 'PGPORT');
  if (portText === undefined) return 5432;
  const parsed = Number(portText);
  if (Number.isInteger(parsed) && parsed > 0 && parsed < 65536) return parsed;
  reader.problems.push({
    message: `port ${echoValue(portText)} is not a TCP port number`,
    range: pool.connection.port?.range ?? pool.keyRange,
  });
  return 5432;
}

/** sslmode and its certificate files onto the target; an unknown mode or unusable file is a problem. */
function resolveSsl(
  reader: SettingsReader,
  pool: PoolDeclaration,
  env: ConfigEnvironment,
  target: ConnectionTarget,
): void {
  const { fromConfig, fromOrigin, problems } = reader;
  const sslmode =
    fromConfig('sslmode') ??
    sslFromBoolean(pool.connection.ssl?.value) ??
    fromOrigin('SSLMODE') ??
    nonEmpty(env.PGSSLMODE) ??
    // libpq's default: TLS where the server offers it, plain where it does not.
    'prefer';
  const sslFile = (key: string, suffix: string, libpq: string) =>
    fromConfig(key) ?? fromOrigin(suffix) ?? nonEmpty(env[libpq]);
  if (sslmode !== undefined && !SSL_MODES.includes(sslmode)) {
    problems.push({
      message: `sslmode ${echoValue(sslmode)} is not one of ${SSL_MODES.join(', ')}`,
      range: pool.connection.sslmode?.range ?? pool.connection.ssl?.range ?? pool.keyRange,
    });
    return;
  }
  if (!sslmode || sslmode === 'disable') return;
  const files = {
    rootCertPath: sslFile('sslrootcert', 'SSLROOTCERT', 'PGSSLROOTCERT'),
    certPath: sslFile('sslcert', 'SSLCERT', 'PGSSLCERT'),
    keyPath: sslFile('sslkey', 'SSLKEY', 'PGSSLKEY'),
  };
  const ssl: NonNullable<ConnectionTarget['ssl']> = { mode: sslmode };
  target.ssl = ssl;
  for (const [name, path] of Object.entries(files))
    if (path !== undefined) ssl[name as keyof typeof files] = path;
  // A certificate or key that is missing, a device or huge is a problem of the config, found
  // before any connection (and /dev/zero is never read).
  for (const [key, path] of [
    ['sslrootcert', ssl.rootCertPath],
    ['sslcert', ssl.certPath],
    ['sslkey', ssl.keyPath],
  ] as const) {
    const problem = path === undefined ? undefined : settingsFileProblem(path);
    if (problem)
      problems.push({ message: `${key}: ${problem}`, range: pool.connection[key]?.range ?? pool.keyRange });
  }
}

function kindOf(value: unknown): string {
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'boolean') return 'true/false';
  return typeof value === 'object' ? 'a mapping' : `a ${typeof value}`;
}

/** libpq's sslmode values. */
export const SSL_MODES = ['disable', 'allow', 'prefer', 'require', 'verify-ca', 'verify-full'];

function passwordVariables(
  pool: PoolDeclaration,
  sources: TargetResolution['sources'],
  env: ConfigEnvironment,
  prefix: string | undefined,
): string[] {
  switch (sources.password) {
    case 'config': {
      const written = pool.connection.password?.value;
      if (typeof written !== 'string') return [];
      return [...written.matchAll(VARIABLE)]
        .map((m) => m[1]!)
        .filter((name) => nonEmpty(env[name]) !== undefined);
    }
    case 'origin-env':
      return [`${prefix}PASSWORD`];
    case 'libpq-env':
      return ['PGPASSWORD'];
    default:
      return [];
  }
}

function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value === '' ? undefined : value;
}

function sslFromBoolean(value: unknown): string | undefined {
  if (value === true || value === 'true') return 'require';
  if (value === false || value === 'false') return 'disable';
  return undefined;
}

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
