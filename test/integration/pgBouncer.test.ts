import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { type PgBouncer, startPgBouncer } from '../../harness/pgBouncer';
import { type Cluster, startCluster } from '../../harness/pgCluster';

const CLI = join(__dirname, '..', '..', 'dist', 'cli.js');
const USERS = [
  { name: 'app', password: 'app-pw-Bouncer1' },
  { name: 'watcher', password: 'watcher-pw-Bouncer2' },
];

interface Finding {
  code: string;
  severity: string;
  message: string;
  pool: string;
}

describe('pools behind a real PgBouncer', () => {
  let cluster: Cluster;
  let dir: string;
  const bouncers: PgBouncer[] = [];

  before(async () => {
    cluster = await startCluster({ maxConnections: 30 });
    for (const u of USERS) await cluster.createRole(u.name, { password: u.password });
    await cluster.createDatabase('appdb', { owner: 'app' });
    await cluster.createDatabase('shareddb', { owner: 'app' });
    dir = await mkdtemp(join(tmpdir(), 'pool-capacity-bouncer-'));
    await mkdir(join(dir, '.claude-flow'));
  });

  after(async () => {
    await Promise.all(bouncers.map((b) => b.stop()));
    await rm(dir, { recursive: true, force: true });
    await cluster?.stop();
  });

  const bouncer = async (options: Partial<Parameters<typeof startPgBouncer>[1]>) => {
    const b = await startPgBouncer(cluster, { users: USERS, databases: ['appdb', 'shareddb'], ...options });
    bouncers.push(b);
    return b;
  };

  const check = async (port: number, user: string, project: number, shared: number): Promise<Finding[]> => {
    const password = USERS.find((u) => u.name === user)!.password;
    const pool = (db: string, size: number) =>
      `      host: 127.0.0.1\n      port: ${port}\n      database: ${db}\n      user: ${user}\n      password: \${PW}\n      poolSize: ${size}\n`;
    await writeFile(
      join(dir, '.claude-flow', 'config.yaml'),
      `swarm:\n  maxAgents: 5\nmemory:\n  postgresql:\n    project:\n${pool('appdb', project)}    shared:\n${pool('shareddb', shared)}`,
    );
    const result = spawnSync(process.execPath, [CLI, 'check', '--json'], {
      cwd: dir,
      env: { PATH: process.env.PATH, HOME: process.env.HOME, PGPASSFILE: '/nonexistent', PW: password },
      encoding: 'utf8',
      timeout: 30_000,
    });
    assert.ok(!result.stdout.includes(password) && !result.stderr.includes(password));
    assert.ok(result.status === 0 || result.status === 1, result.stderr);
    return JSON.parse(result.stdout).diagnostics;
  };

  it('judges client pools against max_client_conn, not PostgreSQL max_connections', async () => {
    const b = await bouncer({ maxClientConn: 50, defaultPoolSize: 10, statsUsers: ['app'] });
    // 55 clients: more than PgBouncer takes (50), though PostgreSQL's 30 slots would never see them.
    const found = await check(b.port, 'app', 40, 15);
    assert.deepEqual(
      found.map((d) => [d.code, d.severity, d.pool]),
      [
        ['pool-exceeds-pooler', 'error', 'project'],
        ['pool-exceeds-pooler', 'error', 'shared'],
      ],
    );
    assert.match(
      found[0]!.message,
      /^project 40 \+ shared 15 = 55 > 50 client slots free on PgBouncer 127\.0\.0\.1:\d+: max_client_conn 50 − 0 other clients = 50; 5 stay free as headroom/,
    );
    // 30 + 12 fit in 50 with 5 kept free for headroom; PgBouncer opens at most 2 x 10 server connections.
    assert.deepEqual(await check(b.port, 'app', 30, 12), []);
  });

  it("warns when PgBouncer's server pools would take more than PostgreSQL has free", async () => {
    const b = await bouncer({ maxClientConn: 200, defaultPoolSize: 20, statsUsers: ['app'] });
    // Two user+database pairs of up to 20 server connections each: 40 > 27 usable.
    const found = await check(b.port, 'app', 40, 30);
    assert.deepEqual(
      found.map((d) => [d.code, d.pool]),
      [
        ['pooler-exceeds-server', 'project'],
        ['pooler-exceeds-server', 'shared'],
      ],
    );
    assert.match(
      found[0]!.message,
      /may open 40 server connections > 2\d free on PostgreSQL \(on port \d+\): pool_size 20 \+ reserve 0 per user and database, transaction mode/,
    );
  });

  it('load-tests through PgBouncer: its refusals classified, the run counted as its clients, none left', async () => {
    const b = await bouncer({ maxClientConn: 12, defaultPoolSize: 5, statsUsers: ['app'] });
    await check(b.port, 'app', 20, 2);
    const run = (args: string[]) =>
      spawnSync(process.execPath, [CLI, 'test', ...args, '--json'], {
        cwd: dir,
        env: {
          PATH: process.env.PATH,
          HOME: process.env.HOME,
          PGPASSFILE: '/nonexistent',
          PW: USERS[0]!.password,
        },
        encoding: 'utf8',
        timeout: 60_000,
      });
    // 15 at once need more client slots than max_client_conn 12 less the margin: refused unless forced.
    const refused = run(['15', '--mode', 'direct']);
    assert.equal(refused.status, 2);
    assert.match(
      refused.stderr,
      /client connections on PgBouncer 127\.0\.0\.1:\d+, where 12 of max_client_conn 12 are free/,
    );
    const forced = run(['15', '--mode', 'direct', '--force']);
    const report = JSON.parse(forced.stdout);
    // The observer holds one of the 12 client slots.
    assert.equal(report.succeeded, 11);
    assert.deepEqual(report.failures, { 'pooler-refused': 4 });
    assert.equal(report.peakServerConnections, 11);
    assert.equal(report.leftover, 0);
  });

  it('says so when the role may not read the admin console', async () => {
    const b = await bouncer({ maxClientConn: 50, statsUsers: ['app'] });
    const found = await check(b.port, 'watcher', 40, 15);
    assert.deepEqual(
      found.map((d) => [d.code, d.severity]),
      [
        ['behind-pooler', 'information'],
        ['behind-pooler', 'information'],
      ],
    );
    assert.match(
      found[0]!.message,
      /through PgBouncer at 127\.0\.0\.1:\d+.*role "watcher" may not read PgBouncer's admin console \(not in stats_users\)/,
    );
  });
});
