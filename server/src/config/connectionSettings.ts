import { readFileSync, statSync } from 'node:fs';
import { homedir, userInfo } from 'node:os';
import { dirname, join } from 'node:path';
import { parse as parseDotenv } from 'dotenv';
import pgpass from 'pgpass';
import type { ConnectionTarget } from '../db/connectionTarget';
import type { ConfigValue, OffsetRange, PoolDeclaration, PoolName } from './poolConfig';

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
    const values = parseDotenv(readFileSync(path, 'utf8'));
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
 * Resolves where a pool connects: the pool's own keys, else the origin's env variables
 * (RUVECTOR_* / SHARED_KNOWLEDGE_*), else libpq's PG* variables, else libpq's defaults.
 * The password falls back to ~/.pgpass (or PGPASSFILE) last, as libpq does.
 */
export async function resolveTarget(
  pool: PoolDeclaration,
  env: ConfigEnvironment,
): Promise<TargetResolution> {
  const unresolved: UnresolvedVariable[] = [];
  const problems: TargetResolution['problems'] = [];
  const sources: TargetResolution['sources'] = {};
  const prefix = ORIGIN_PREFIX[pool.name];

  const fromConfig = (key: string): string | undefined => {
    const entry: ConfigValue | undefined = pool.connection[key];
    if (!entry || entry.value === null || entry.value === undefined) return undefined;
    const expanded = expandVariables(String(entry.value), env);
    for (const name of expanded.missing) unresolved.push({ name, range: entry.range });
    return expanded.value === '' ? undefined : expanded.value;
  };
  const pick = (
    field: keyof ConnectionTarget,
    configKey: string,
    originSuffix: string,
    libpqName: string,
  ): string | undefined => {
    const candidates: [string | undefined, SettingSource][] = [
      [fromConfig(configKey), 'config'],
      [prefix ? nonEmpty(env[prefix + originSuffix]) : undefined, 'origin-env'],
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

  const defaultUser = safeUserName();
  const host = pick('host', 'host', 'HOST', 'PGHOST') ?? 'localhost';
  const portText = pick('port', 'port', 'PORT', 'PGPORT');
  let port = 5432;
  if (portText !== undefined) {
    const parsed = Number(portText);
    if (Number.isInteger(parsed) && parsed > 0 && parsed < 65536) port = parsed;
    else {
      problems.push({
        message: `port "${portText}" is not a TCP port number`,
        range: pool.connection.port?.range ?? pool.keyRange,
      });
    }
  }
  const user = pick('user', 'user', 'USER', 'PGUSER') ?? defaultUser;
  const database = pick('database', 'database', 'DB', 'PGDATABASE') ?? user;
  let password = pick('password', 'password', 'PASSWORD', 'PGPASSWORD');
  for (const field of ['host', 'user', 'database'] as const) sources[field] ??= 'default';
  sources.port ??= 'default';

  const sslmode =
    fromConfig('sslmode') ??
    sslFromBoolean(pool.connection.ssl?.value) ??
    (prefix ? nonEmpty(env[`${prefix}SSLMODE`]) : undefined) ??
    nonEmpty(env.PGSSLMODE);
  const sslFile = (key: string, suffix: string, libpq: string) =>
    fromConfig(key) ?? (prefix ? nonEmpty(env[prefix + suffix]) : undefined) ?? nonEmpty(env[libpq]);

  const target: ConnectionTarget = { host, port, database, user };
  if (sslmode && sslmode !== 'disable') {
    target.ssl = {
      mode: sslmode,
      rootCertPath: sslFile('sslrootcert', 'SSLROOTCERT', 'PGSSLROOTCERT'),
      certPath: sslFile('sslcert', 'SSLCERT', 'PGSSLCERT'),
      keyPath: sslFile('sslkey', 'SSLKEY', 'PGSSLKEY'),
    };
  }
  if (password === undefined) {
    password = await passwordFromPgpass(target, env);
    if (password !== undefined) sources.password = 'pgpass';
  }
  if (password !== undefined) target.password = password;
  return { target, sources, unresolved, problems };
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
  process.env.PGPASSFILE = env.PGPASSFILE ?? previous ?? join(homedir(), '.pgpass');
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
