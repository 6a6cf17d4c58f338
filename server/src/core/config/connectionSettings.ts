import type { ConnectionTarget } from '../connection/connectionTarget';
import type { ConfigValue, OffsetRange, PoolDeclaration, PoolName } from './poolConfig';
import { echoValue } from './secretScrubber';

/** The environment a config is resolved in: the process environment over the workspace `.env`. */
export type ConfigEnvironment = Record<string, string | undefined>;

/**
 * What resolution needs from the machine it runs on, passed in so that resolution itself reads no
 * file: io/config/configFiles.ts has the real ones (machineSettingsFiles).
 */
export interface SettingsFiles {
  /** Why a file cannot be one of our settings files (missing, a device, too big), or undefined when it can. */
  fileProblem(path: string): string | undefined;
  /** The password libpq's password file (PGPASSFILE or ~/.pgpass) has for this target, if any. */
  pgpassPassword(target: ConnectionTarget, env: ConfigEnvironment): Promise<string | undefined>;
  /** libpq's default user: the operating-system user. */
  osUserName(): string;
}

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
  files: SettingsFiles,
  options: { allowPlainPasswordHosts?: readonly string[] } = {},
): Promise<TargetResolution> {
  const reader = settingsReader(pool, env);
  const { pick, sources } = reader;
  const host = pick('host', 'host', 'HOST', 'PGHOST') ?? 'localhost';
  const port = resolvePort(reader, pool);
  const user = pick('user', 'user', 'USER', 'PGUSER') ?? files.osUserName();
  const database = pick('database', 'database', 'DB', 'PGDATABASE') ?? user;
  let password = pick('password', 'password', 'PASSWORD', 'PGPASSWORD');
  for (const field of ['host', 'user', 'database'] as const) sources[field] ??= 'default';
  sources.port ??= 'default';

  const target: ConnectionTarget = { host, port, database, user };
  resolveSsl(reader, pool, env, target, files);
  if (options.allowPlainPasswordHosts?.some((h) => h.toLowerCase() === host.toLowerCase()))
    target.allowPlainPassword = true;
  if (password === undefined) {
    password = await files.pgpassPassword(target, env);
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
  machine: SettingsFiles,
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
    const problem = path === undefined ? undefined : machine.fileProblem(path);
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
