/**
 * A throwaway PgBouncer in front of a throwaway cluster, for the tests where pools reach
 * PostgreSQL through a pooler. Debian's `pgbouncer` binary; as root it runs as the postgres OS user.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { freePort } from './freePort';
import { asServerUser, type Cluster, serverOsUser } from './pgCluster';

const CANDIDATES = ['/usr/sbin/pgbouncer', '/usr/bin/pgbouncer', '/usr/local/bin/pgbouncer'];
const READY_TIMEOUT_MS = 10_000;

export interface PgBouncerOptions {
  /** Roles PgBouncer lets in (and logs in to PostgreSQL as), with their passwords. */
  users: { name: string; password: string }[];
  /** Client-facing database names; each maps to the same name on the cluster. */
  databases: string[];
  maxClientConn?: number;
  defaultPoolSize?: number;
  reservePoolSize?: number;
  poolMode?: 'session' | 'transaction' | 'statement';
  /** May read the admin console (SHOW ...). */
  statsUsers?: string[];
}

export interface PgBouncer {
  readonly host: string;
  readonly port: number;
  stop(): Promise<void>;
}

function binary(): string {
  const found = CANDIDATES.find((p) => existsSync(p));
  if (!found) {
    throw new Error(
      `PgBouncer is not installed (looked for ${CANDIDATES.join(', ')}): apt-get install pgbouncer (.ci/run does).`,
    );
  }
  return found;
}

function waitForPort(port: number, child: ChildProcess, logFile: string): Promise<void> {
  const deadline = Date.now() + READY_TIMEOUT_MS;
  return new Promise((resolve, reject) => {
    const attempt = () => {
      if (child.exitCode !== null) {
        const log = existsSync(logFile) ? readFileSync(logFile, 'utf8') : '';
        reject(new Error(`PgBouncer exited with ${child.exitCode} before listening:\n${log}`));
        return;
      }
      const socket = net.connect(port, '127.0.0.1');
      socket.once('connect', () => {
        socket.destroy();
        resolve();
      });
      socket.once('error', () => {
        socket.destroy();
        if (Date.now() > deadline)
          reject(new Error(`PgBouncer did not listen on ${port} within ${READY_TIMEOUT_MS} ms`));
        else setTimeout(attempt, 25);
      });
    };
    attempt();
  });
}

export async function startPgBouncer(cluster: Cluster, options: PgBouncerOptions): Promise<PgBouncer> {
  const file = binary();
  const dir = mkdtempSync(path.join(os.tmpdir(), 'pool-capacity-pgbouncer-'));
  const port = await freePort();
  const logFile = path.join(dir, 'pgbouncer.log');
  const quote = (s: string) => `"${s.replaceAll('"', '""')}"`;
  writeFileSync(
    path.join(dir, 'userlist.txt'),
    options.users.map((u) => `${quote(u.name)} ${quote(u.password)}\n`).join(''),
  );
  const databases = options.databases.map(
    (d) => `${d} = host=${cluster.host} port=${cluster.port} dbname=${d}`,
  );
  writeFileSync(
    path.join(dir, 'pgbouncer.ini'),
    [
      '[databases]',
      ...databases,
      '[pgbouncer]',
      `listen_addr = 127.0.0.1`,
      `listen_port = ${port}`,
      `unix_socket_dir = ${dir}`,
      `auth_type = scram-sha-256`,
      `auth_file = ${path.join(dir, 'userlist.txt')}`,
      `pool_mode = ${options.poolMode ?? 'transaction'}`,
      `max_client_conn = ${options.maxClientConn ?? 100}`,
      `default_pool_size = ${options.defaultPoolSize ?? 20}`,
      `reserve_pool_size = ${options.reservePoolSize ?? 0}`,
      `stats_users = ${(options.statsUsers ?? []).join(',')}`,
      `logfile = ${logFile}`,
      `pidfile = ${path.join(dir, 'pgbouncer.pid')}`,
      '',
    ].join('\n'),
  );
  const user = serverOsUser();
  if (user) {
    for (const name of ['', 'userlist.txt', 'pgbouncer.ini'])
      chownSync(path.join(dir, name), user.uid, user.gid);
  }
  const [cmd, args] = asServerUser(file, [path.join(dir, 'pgbouncer.ini')]);
  const child = spawn(cmd, args, { stdio: 'ignore', cwd: dir });
  const stop = async () => {
    if (child.exitCode === null) {
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      await exited;
    }
    rmSync(dir, { recursive: true, force: true });
  };
  process.once('exit', () => child.kill('SIGKILL'));
  try {
    await waitForPort(port, child, logFile);
  } catch (error) {
    await stop();
    throw error;
  }
  return { host: '127.0.0.1', port, stop };
}
