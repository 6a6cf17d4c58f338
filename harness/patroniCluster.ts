/**
 * A throwaway Patroni high-availability cluster for tests: one etcd (v3 API) and 2-3 Patroni members
 * with their PostgreSQL, all on 127.0.0.1 free ports, in a private dir under /dev/shm (or the temp
 * dir). As root everything runs as the postgres OS user (initdb and postgres refuse root). start
 * returns when one member leads and every replica streams from it; stop() ends every process it
 * started and removes the dir; an exit or a signal does the same. One cluster per test file.
 *
 * Facts behind the choices (measured on these machines): ../shared/docs/patroni.md.
 * - Patroni detaches the postmaster: killing patroni leaves PostgreSQL running, so killMember()
 *   and the exit hook also signal the postmaster (PID from data/postmaster.pid).
 * - max_connections comes only from the dynamic config (PATCH /config) and needs a restart;
 *   member-local parameters (e.g. superuser_reserved_connections) are honoured per member.
 * - Daemons never inherit our stdio: their output goes to files, or a caller capturing our output
 *   would wait for the cluster to stop.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import {
  accessSync,
  chmodSync,
  chownSync,
  closeSync,
  constants,
  existsSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readFileSync,
  rmSync,
  statfsSync,
  writeFileSync,
} from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { stringify } from 'yaml';
import { freePort } from './freePort';
import { resolvePgBinaries, serverOsUser } from './pgCluster';

export interface PatroniClusterOptions {
  /** 2 or 3 (default 3). */
  members?: number;
  /** The dynamic config's max_connections (default 100; Patroni replaces values under 25 by 100). */
  maxConnections?: number;
  /**
   * Member-local PostgreSQL parameters by member index, e.g. `{ 2: { superuser_reserved_connections: 20 } }`.
   * max_connections here is NOT honoured by Patroni (only the dynamic config counts): use
   * `memberMaxConnections`.
   */
  memberParameters?: Record<number, Record<string, string | number>>;
  /**
   * A member whose PostgreSQL runs with another max_connections than the dynamic config, by index.
   * Patroni puts the dynamic config's value on the postgres command line; this member's bin_dir
   * wraps `postgres` and replaces it, which is what a member started by hand with another value
   * looks like. PostgreSQL's hot-standby rule still holds: a replica below the primary's value
   * pauses recovery, so give replicas at least the leader's value.
   */
  memberMaxConnections?: Record<number, number>;
  /** Member indexes tagged nofailover from the start. */
  nofailover?: number[];
  /** Patroni timing (default 10/1/4: failover about 10 s after a node is lost). */
  ttl?: number;
  loopWait?: number;
  retryTimeout?: number;
  /** How long start may wait for "leader + every replica streaming" (default 90 s). */
  readyTimeoutMs?: number;
  log?: (line: string) => void;
}

export interface PatroniMemberInfo {
  index: number;
  name: string;
  pgPort: number;
  apiPort: number;
}

export interface ClusterMemberView {
  name: string;
  role: string;
  state: string;
  host: string;
  port: number;
  lag?: number | string;
  pending_restart?: boolean;
  tags?: Record<string, unknown>;
}

export interface PatroniCluster {
  readonly dir: string;
  readonly members: readonly PatroniMemberInfo[];
  /** Every member's REST API address as `127.0.0.1:port`. */
  readonly apiHosts: string[];
  readonly superuser: string;
  readonly superuserPassword: string;
  /** GET /cluster from the first member that answers. */
  clusterState(): Promise<{ members: ClusterMemberView[] }>;
  /** The current leader (waits up to timeoutMs, default 30 s, for one). */
  leader(timeoutMs?: number): Promise<PatroniMemberInfo>;
  member(name: string): PatroniMemberInfo;
  /** Waits until one member leads and every other member streams from it (default 60 s). */
  waitReady(timeoutMs?: number): Promise<void>;
  /** PATCH /config (JSON merge) on any member; returns the new config. */
  patchConfig(patch: unknown): Promise<unknown>;
  /** POST /switchover to the candidate (default: any); returns when Patroni says it is done. */
  switchover(candidate?: string): Promise<void>;
  /** POST /restart on one member (Patroni restarts its PostgreSQL), then waits for the cluster. */
  restartMember(name: string): Promise<void>;
  /** Sets a member's tags (written to its patroni.yml, POST /reload) and waits until /cluster shows them. */
  setTags(name: string, tags: Record<string, boolean>): Promise<void>;
  /** SIGKILL a member's patroni and its postmaster: a lost node. */
  killMember(name: string): Promise<void>;
  /** Starts a killed member's patroni again (it rejoins, pg_rewinds). */
  startMember(name: string): Promise<void>;
  /** A query as superuser over TCP on one member's PostgreSQL. */
  // biome-ignore lint/suspicious/noExplicitAny: rows are whatever the test's SQL returns
  sql<T = any>(memberName: string, text: string, params?: unknown[]): Promise<T[]>;
  /** Opens n client connections on one member (application_name 'other-client'); release() closes them. */
  occupy(memberName: string, n: number): Promise<{ release(): Promise<void> }>;
  /** SIGTERM all members at once, then etcd; removes the dir. Idempotent. */
  stop(): Promise<void>;
}

const HOST = '127.0.0.1';
const SCOPE = 'pgtest';
const SUPERUSER = 'postgres';
const SUPERUSER_PASSWORD = 'postgres-pass';
const PATRONI_BIN = '/usr/bin/patroni';
const ETCD_BIN = '/usr/bin/etcd';
const HTTP_TIMEOUT_MS = 5_000;
const STOP_WAIT_MS = 30_000;

// ---------------------------------------------------------------------------------------------
// Leftover protection: every daemon we start is remembered until it is seen gone.

interface Started {
  pid: number;
  /** The cluster dir: a PID is signalled only while its command line still names it. */
  dir: string;
}

const started = new Set<Started>();
const dirs = new Set<string>();
let hooksInstalled = false;

function isOurs(pid: number | undefined, dir: string): boolean {
  if (!pid) return false;
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ').includes(dir);
  } catch {
    return false;
  }
}

function postmasterPid(dataDir: string): number | undefined {
  try {
    const pid = Number(readFileSync(path.join(dataDir, 'postmaster.pid'), 'utf8').split('\n')[0]);
    return Number.isInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}

/** Exit or signal: SIGKILL what is left (no time for graceful), postmasters included; remove the dirs. */
function killAllSync(): void {
  for (const dir of dirs) {
    for (const entry of started)
      if (entry.dir === dir && isOurs(entry.pid, dir)) safeKill(entry.pid, 'SIGKILL');
    for (let i = 0; i < 10; i++) {
      const pid = postmasterPid(path.join(dir, `pg${i}`, 'data'));
      if (pid && isOurs(pid, dir)) safeKill(pid, 'SIGKILL');
    }
    rmSync(dir, { recursive: true, force: true });
  }
  started.clear();
  dirs.clear();
}

function installHooks(): void {
  if (hooksInstalled) return;
  hooksInstalled = true;
  process.on('exit', killAllSync);
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.once(signal, () => {
      killAllSync();
      if (process.listenerCount(signal) === 0) process.kill(process.pid, signal);
    });
  }
}

function safeKill(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(pid, signal);
  } catch {
    // already gone
  }
}

// ---------------------------------------------------------------------------------------------
// Small helpers

function workRoot(): string {
  const explicit = process.env.POOL_CAPACITY_PG_TMPDIR;
  if (explicit) return explicit;
  try {
    const fs = statfsSync('/dev/shm');
    accessSync('/dev/shm', constants.W_OK);
    // About 450 MB for 3 members (etcd preallocates 64 MB WAL files).
    if (fs.bavail * fs.bsize > 2 * 1024 ** 3) return '/dev/shm';
  } catch {
    // no roomy /dev/shm: the ordinary temp dir
  }
  return os.tmpdir();
}

function tail(file: string, lines = 12): string {
  try {
    return readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '(no log)';
  }
}

const delay = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** One HTTP request with a deadline; resolves with status and body text. */
function request(
  port: number,
  method: string,
  urlPath: string,
  body?: unknown,
  timeoutMs = HTTP_TIMEOUT_MS,
): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const payload = body === undefined ? undefined : JSON.stringify(body);
    const req = http.request(
      {
        host: HOST,
        port,
        method,
        path: urlPath,
        agent: false,
        headers: payload
          ? { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) }
          : {},
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          clearTimeout(timer);
          resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') });
        });
        res.on('error', (e) => {
          clearTimeout(timer);
          reject(e);
        });
      },
    );
    const timer = setTimeout(
      () => req.destroy(new Error(`${method} ${urlPath} on :${port}: no answer in ${timeoutMs} ms`)),
      timeoutMs,
    );
    req.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    req.end(payload);
  });
}

// ---------------------------------------------------------------------------------------------
// The cluster

export async function startPatroniCluster(opts: PatroniClusterOptions = {}): Promise<PatroniCluster> {
  const log = opts.log ?? (() => {});
  const n = opts.members ?? 3;
  if (n < 2 || n > 3) throw new Error(`a Patroni test cluster has 2 or 3 members, not ${n}`);
  for (const [file, pkg] of [
    [PATRONI_BIN, 'patroni'],
    [ETCD_BIN, 'etcd-server'],
  ] as const)
    if (!existsSync(file))
      throw new Error(
        `cannot start a Patroni cluster: ${file} is missing: install the Debian package ${pkg} (apt-get install --no-install-recommends patroni etcd-server python3-etcd; .ci/run does it through scripts/systemPackages.cjs)`,
      );
  const bins = resolvePgBinaries();
  if (bins.source !== 'system')
    throw new Error(
      `Patroni needs the system PostgreSQL binaries (pg_basebackup, pg_rewind), not ${bins.binDir}`,
    );
  const osUser = serverOsUser();
  installHooks();
  const t0 = performance.now();

  const dir = mkdtempSync(path.join(workRoot(), 'pool-capacity-patroni-'));
  dirs.add(dir);
  const etcdClient = await freePort();
  const etcdPeer = await freePort();
  const members: PatroniMemberInfo[] = [];
  for (let i = 0; i < n; i++)
    members.push({ index: i, name: `pg${i}`, pgPort: await freePort(), apiPort: await freePort() });
  const ttl = opts.ttl ?? 10;
  const loopWait = opts.loopWait ?? 1;
  const retryTimeout = opts.retryTimeout ?? 4;
  const tags = new Map<number, Record<string, boolean>>(
    members.map((m) => [m.index, { nofailover: opts.nofailover?.includes(m.index) ?? false }]),
  );
  const patroniPids = new Map<number, Started>();
  let etcd: Started | undefined;
  let stopped = false;

  const own = (p: string) => {
    if (osUser) chownSync(p, osUser.uid, osUser.gid);
  };

  /** Starts a daemon with its output in `logFile`, in its own session, as the server user when root. */
  const daemon = (file: string, args: string[], logFile: string): Started => {
    const fd = openSync(logFile, 'a');
    own(logFile);
    let child: ChildProcess;
    try {
      child = spawn(file, args, {
        cwd: dir,
        detached: true,
        stdio: ['ignore', fd, fd],
        env: {
          PATH: `${bins.binDir}:/usr/local/bin:/usr/bin:/bin`,
          HOME: dir,
          LANG: 'C.UTF-8',
          LC_ALL: 'C.UTF-8',
        },
        ...(osUser ? { uid: osUser.uid, gid: osUser.gid } : {}),
      });
    } finally {
      // The child has its own copy.
      closeSync(fd);
    }
    child.unref();
    if (!child.pid) throw new Error(`could not start ${file}`);
    const entry = { pid: child.pid, dir };
    started.add(entry);
    return entry;
  };

  const memberDir = (m: PatroniMemberInfo) => path.join(dir, m.name);

  const writeMemberConfig = (m: PatroniMemberInfo) => {
    const mdir = memberDir(m);
    let binDir = bins.binDir;
    const forced = opts.memberMaxConnections?.[m.index];
    if (forced !== undefined) {
      // A bin dir whose postgres replaces the max_connections Patroni passes on its command line.
      binDir = path.join(mdir, 'bin');
      mkdirSync(binDir, { recursive: true });
      for (const tool of ['initdb', 'pg_ctl', 'pg_basebackup', 'pg_rewind', 'pg_controldata', 'pg_isready']) {
        const target = path.join(bins.binDir, tool);
        if (existsSync(target)) spawnSync('ln', ['-sf', target, path.join(binDir, tool)]);
      }
      const wrapper = [
        '#!/bin/sh',
        '# Test harness: this member runs with its own max_connections (see patroniCluster.ts).',
        'for a in "$@"; do',
        '  shift',
        `  case "$a" in --max_connections=*) set -- "$@" "--max_connections=${forced}" ;; *) set -- "$@" "$a" ;; esac`,
        'done',
        `exec ${path.join(bins.binDir, 'postgres')} "$@"`,
        '',
      ].join('\n');
      writeFileSync(path.join(binDir, 'postgres'), wrapper, { mode: 0o755 });
      for (const p of [binDir, path.join(binDir, 'postgres')]) own(p);
    }
    const config = {
      scope: SCOPE,
      namespace: '/service/',
      name: m.name,
      log: { level: 'INFO', dir: path.join(mdir, 'log') },
      restapi: { listen: `${HOST}:${m.apiPort}`, connect_address: `${HOST}:${m.apiPort}` },
      etcd3: { hosts: `${HOST}:${etcdClient}` },
      bootstrap: {
        // The dynamic config, written to the DCS once (GET/PATCH /config).
        dcs: {
          ttl,
          loop_wait: loopWait,
          retry_timeout: retryTimeout,
          maximum_lag_on_failover: 1048576,
          postgresql: {
            use_pg_rewind: true,
            use_slots: true,
            parameters: {
              max_connections: opts.maxConnections ?? 100,
              max_wal_senders: 10,
              max_replication_slots: 10,
              wal_keep_size: '128MB',
              // A replica's first walreceiver attempt fails before the leader made its slot; retry soon.
              wal_retrieve_retry_interval: '500ms',
              // Test speed only. full_page_writes stays on: pg_rewind needs it.
              fsync: 'off',
              synchronous_commit: 'off',
              checkpoint_timeout: '30min',
            },
          },
        },
        initdb: [
          { encoding: 'UTF8' },
          { locale: 'C' },
          'no-sync',
          { 'auth-local': 'trust' },
          { 'auth-host': 'scram-sha-256' },
        ],
      },
      postgresql: {
        listen: `${HOST}:${m.pgPort}`,
        connect_address: `${HOST}:${m.pgPort}`,
        data_dir: path.join(mdir, 'data'),
        bin_dir: binDir,
        pgpass: path.join(mdir, 'pgpass'),
        use_unix_socket: true,
        remove_data_directory_on_rewind_failure: true,
        remove_data_directory_on_diverged_timelines: true,
        authentication: {
          superuser: { username: SUPERUSER, password: SUPERUSER_PASSWORD },
          replication: { username: 'replicator', password: 'repl-pass' },
          rewind: { username: 'rewind_user', password: 'rewind-pass' },
        },
        parameters: {
          unix_socket_directories: mdir,
          logging_collector: 'on',
          log_directory: path.join(mdir, 'log'),
          log_filename: 'postgresql.log',
          ...opts.memberParameters?.[m.index],
        },
        pg_hba: [
          'local all all trust',
          `host replication replicator ${HOST}/32 scram-sha-256`,
          `host all all ${HOST}/32 scram-sha-256`,
        ],
        basebackup: [{ checkpoint: 'fast' }, 'no-sync'],
      },
      tags: { noloadbalance: false, clonefrom: false, nosync: false, ...tags.get(m.index) },
    };
    const file = path.join(mdir, 'patroni.yml');
    writeFileSync(file, stringify(config), { mode: 0o600 });
    own(file);
  };

  const startMemberProcess = (m: PatroniMemberInfo) => {
    const running = patroniPids.get(m.index);
    if (running && isOurs(running.pid, dir)) throw new Error(`${m.name} is already running`);
    patroniPids.set(
      m.index,
      daemon(
        PATRONI_BIN,
        [path.join(memberDir(m), 'patroni.yml')],
        path.join(memberDir(m), 'log', 'patroni.out'),
      ),
    );
  };

  const logs = () =>
    [
      `etcd: ${tail(path.join(dir, 'etcd', 'etcd.log'), 5)}`,
      ...members.map((m) => `${m.name} patroni: ${tail(path.join(memberDir(m), 'log', 'patroni.out'))}`),
    ].join('\n');

  const getJson = async (urlPath: string): Promise<unknown> => {
    const errors: string[] = [];
    for (const m of members) {
      try {
        const res = await request(m.apiPort, 'GET', urlPath, undefined, 2_000);
        if (res.status === 200) return JSON.parse(res.text);
        errors.push(`${m.name}: HTTP ${res.status}`);
      } catch (error) {
        errors.push(`${m.name}: ${(error as Error).message}`);
      }
    }
    throw new Error(`no member answers GET ${urlPath} (${errors.join('; ')})`);
  };

  const clusterState = async () => (await getJson('/cluster')) as { members: ClusterMemberView[] };

  const readiness = async (): Promise<string | undefined> => {
    let state: { members: ClusterMemberView[] };
    try {
      state = await clusterState();
    } catch (error) {
      return (error as Error).message;
    }
    const seen = state.members.map((x) => `${x.name}=${x.role}/${x.state}`).join(', ') || 'no members';
    const live = (x: ClusterMemberView) => ['running', 'streaming', 'in archive recovery'].includes(x.state);
    const leaders = state.members.filter(
      (x) => (x.role === 'leader' || x.role === 'standby_leader') && x.state === 'running',
    );
    const replicas = state.members.filter(
      (x) => (x.role === 'replica' || x.role === 'sync_standby') && live(x),
    );
    if (leaders.length !== 1 || replicas.length !== n - 1) return `members: ${seen}`;
    const leader = members.find((x) => x.name === leaders[0]!.name)!;
    try {
      const res = await request(leader.apiPort, 'GET', '/patroni', undefined, 2_000);
      const status = JSON.parse(res.text) as { replication?: { application_name: string; state: string }[] };
      const streaming = new Set(
        (status.replication ?? []).filter((r) => r.state === 'streaming').map((r) => r.application_name),
      );
      const missing = replicas.filter((r) => !streaming.has(r.name)).map((r) => r.name);
      return missing.length ? `members: ${seen}; not streaming yet: ${missing.join(', ')}` : undefined;
    } catch (error) {
      return `members: ${seen}; leader's /patroni: ${(error as Error).message}`;
    }
  };

  const waitReady = async (timeoutMs = 60_000) => {
    const deadline = Date.now() + timeoutMs;
    let last = 'not asked yet';
    for (;;) {
      const why = await readiness();
      if (why === undefined) return;
      last = why;
      if (Date.now() > deadline)
        throw new Error(`the Patroni cluster is not ready after ${timeoutMs} ms (${last})`);
      await delay(200);
    }
  };

  const member = (name: string) => {
    const found = members.find((m) => m.name === name);
    if (!found) throw new Error(`no member ${name} (members: ${members.map((m) => m.name).join(', ')})`);
    return found;
  };

  const leader = async (timeoutMs = 30_000) => {
    const deadline = Date.now() + timeoutMs;
    let last = '';
    for (;;) {
      try {
        const state = await clusterState();
        const found = state.members.find((x) => x.role === 'leader' && x.state === 'running');
        if (found) return member(found.name);
        last = state.members.map((x) => `${x.name}=${x.role}/${x.state}`).join(', ');
      } catch (error) {
        last = (error as Error).message;
      }
      if (Date.now() > deadline) throw new Error(`no leader after ${timeoutMs} ms (${last})`);
      await delay(200);
    }
  };

  const client = async (name: string, applicationName = 'pool-capacity-test-admin') => {
    const m = member(name);
    const c = new pg.Client({
      host: HOST,
      port: m.pgPort,
      user: SUPERUSER,
      password: SUPERUSER_PASSWORD,
      database: 'postgres',
      application_name: applicationName,
      connectionTimeoutMillis: 5_000,
    });
    try {
      await c.connect();
    } catch (error) {
      await c.end().catch(() => {});
      throw error;
    }
    return c;
  };

  /** SIGTERM, wait (bounded), then SIGKILL. */
  const stopPid = async (entry: Started | undefined, signal: NodeJS.Signals = 'SIGTERM') => {
    if (!entry || !isOurs(entry.pid, dir)) return;
    safeKill(entry.pid, signal);
    const deadline = Date.now() + STOP_WAIT_MS;
    while (isOurs(entry.pid, dir) && Date.now() < deadline) await delay(100);
    if (isOurs(entry.pid, dir)) {
      log(`pid ${entry.pid} ignored ${signal} for ${STOP_WAIT_MS} ms: SIGKILL`);
      safeKill(entry.pid, 'SIGKILL');
    }
    started.delete(entry);
  };

  const stop = async () => {
    if (stopped) return;
    stopped = true;
    // Every member at once: stopping the leader alone first would make a replica promote.
    await Promise.all(members.map((m) => stopPid(patroniPids.get(m.index))));
    // A postmaster can outlive its patroni (patroni killed): fast shutdown.
    await Promise.all(
      members.map((m) => {
        const pid = postmasterPid(path.join(memberDir(m), 'data'));
        return pid && isOurs(pid, dir) ? stopPid({ pid, dir }, 'SIGINT') : undefined;
      }),
    );
    await stopPid(etcd);
    rmSync(dir, { recursive: true, force: true });
    dirs.delete(dir);
    log(`patroni cluster in ${dir} stopped`);
  };

  try {
    mkdirSync(path.join(dir, 'etcd'));
    for (const m of members) {
      mkdirSync(path.join(memberDir(m), 'log'), { recursive: true });
      writeMemberConfig(m);
    }
    if (osUser) spawnSync('chown', ['-R', `${osUser.uid}:${osUser.gid}`, dir]);
    chmodSync(dir, 0o700);

    etcd = daemon(
      ETCD_BIN,
      [
        '--name',
        'etcd0',
        '--data-dir',
        path.join(dir, 'etcd', 'data'),
        '--listen-client-urls',
        `http://${HOST}:${etcdClient}`,
        '--advertise-client-urls',
        `http://${HOST}:${etcdClient}`,
        '--listen-peer-urls',
        `http://${HOST}:${etcdPeer}`,
        '--initial-advertise-peer-urls',
        `http://${HOST}:${etcdPeer}`,
        '--initial-cluster',
        `etcd0=http://${HOST}:${etcdPeer}`,
        '--initial-cluster-state',
        'new',
        '--initial-cluster-token',
        `pool-capacity-${etcdClient}`,
        '--logger',
        'zap',
        '--log-level',
        'warn',
      ],
      path.join(dir, 'etcd', 'etcd.log'),
    );
    const etcdDeadline = Date.now() + 20_000;
    for (;;) {
      try {
        const res = await request(etcdClient, 'GET', '/health', undefined, 1_000);
        if (res.text.includes('"health":"true"')) break;
      } catch {
        // not listening yet
      }
      if (!isOurs(etcd.pid, dir)) throw new Error(`etcd exited: ${tail(path.join(dir, 'etcd', 'etcd.log'))}`);
      if (Date.now() > etcdDeadline) throw new Error('etcd not healthy after 20 s');
      await delay(100);
    }
    // All members at once: one wins the initialize key and runs initdb, the others clone it.
    for (const m of members) startMemberProcess(m);
    await waitReady(opts.readyTimeoutMs ?? 90_000);
    log(`patroni cluster ready in ${Math.round(performance.now() - t0)} ms (${dir})`);
  } catch (error) {
    const message = `could not start the Patroni test cluster: ${(error as Error).message}\n${logs()}`;
    await stop().catch(() => {});
    throw new Error(message);
  }

  return {
    dir,
    members,
    apiHosts: members.map((m) => `${HOST}:${m.apiPort}`),
    superuser: SUPERUSER,
    superuserPassword: SUPERUSER_PASSWORD,
    clusterState,
    leader,
    member,
    waitReady,
    async patchConfig(patch) {
      const res = await request(members[0]!.apiPort, 'PATCH', '/config', patch);
      if (res.status !== 200) throw new Error(`PATCH /config: HTTP ${res.status} ${res.text}`);
      return JSON.parse(res.text);
    },
    async switchover(candidate) {
      const current = await leader();
      const res = await request(
        current.apiPort,
        'POST',
        '/switchover',
        { leader: current.name, ...(candidate ? { candidate } : {}) },
        60_000,
      );
      if (res.status !== 200) throw new Error(`POST /switchover: HTTP ${res.status} ${res.text}`);
    },
    async restartMember(name) {
      const m = member(name);
      const res = await request(m.apiPort, 'POST', '/restart', {}, 60_000);
      if (res.status !== 200) throw new Error(`POST /restart on ${name}: HTTP ${res.status} ${res.text}`);
      await waitReady();
    },
    async setTags(name, newTags) {
      const m = member(name);
      tags.set(m.index, { ...tags.get(m.index), ...newTags });
      writeMemberConfig(m);
      const res = await request(m.apiPort, 'POST', '/reload', {});
      if (res.status !== 202 && res.status !== 200)
        throw new Error(`POST /reload on ${name}: HTTP ${res.status}`);
      const deadline = Date.now() + 20_000;
      for (;;) {
        const state = await clusterState();
        const seen = state.members.find((x) => x.name === name)?.tags ?? {};
        if (Object.entries(newTags).every(([k, v]) => (seen[k] ?? false) === v)) return;
        if (Date.now() > deadline)
          throw new Error(`${name}'s tags are not ${JSON.stringify(newTags)} after 20 s`);
        await delay(200);
      }
    },
    async killMember(name) {
      const m = member(name);
      const entry = patroniPids.get(m.index);
      const pm = postmasterPid(path.join(memberDir(m), 'data'));
      if (entry && isOurs(entry.pid, dir)) safeKill(entry.pid, 'SIGKILL');
      if (pm && isOurs(pm, dir)) safeKill(pm, 'SIGKILL');
      const deadline = Date.now() + 10_000;
      while ((isOurs(entry?.pid, dir) || isOurs(pm, dir)) && Date.now() < deadline) await delay(50);
      if (entry) started.delete(entry);
    },
    async startMember(name) {
      startMemberProcess(member(name));
    },
    async sql(name, text, params) {
      const c = await client(name);
      try {
        return (await c.query(text, params)).rows;
      } finally {
        await c.end().catch(() => {});
      }
    },
    async occupy(name, count) {
      const held: pg.Client[] = [];
      try {
        for (let i = 0; i < count; i++) held.push(await client(name, 'other-client'));
      } catch (error) {
        await Promise.all(held.map((c) => c.end().catch(() => {})));
        throw error;
      }
      return {
        async release() {
          await Promise.all(held.map((c) => c.end().catch(() => {})));
        },
      };
    },
    stop,
  };
}
