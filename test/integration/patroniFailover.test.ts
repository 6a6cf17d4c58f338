/**
 * Patroni high-availability clusters, phase 2 (issue 10), against one real 3-member Patroni + etcd
 * cluster for the whole file: sustained load tests through a switchover and through a failover
 * (the leader's Patroni and PostgreSQL killed), with the failover window measured and judged
 * against failoverTimeout and the reconnect burst counted; and the status notification following
 * the new leader over LSP.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import http from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, beforeEach, describe, it } from 'node:test';
import { pathToFileURL } from 'node:url';
import { freePort } from '../../harness/freePort';
import { LspSession } from '../../harness/lspSession';
import { type PatroniCluster, startPatroniCluster } from '../../harness/patroniCluster';
import {
  OBSERVER_APPLICATION_NAME,
  SERVICE_APPLICATION_NAMES,
} from '../../server/src/core/capacity/serverFacts';
import { StatusNotification, type StatusParams } from '../../shared/protocol';

const CLI = join(__dirname, '..', '..', 'dist', 'cli.js');
const PASSWORD = 'failover-Secret-72kq';
const FAILOVER_CLASSES = [
  'admin-shutdown',
  'read-only',
  'connection-refused',
  'connect-timeout',
  'connection-lost',
  'server-starting',
];

interface CliRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Starts the CLI and resolves when it exits (bounded: killed after `timeoutMs`). */
function startCli(cwd: string, args: string[], timeoutMs = 90_000): Promise<CliRun> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [CLI, ...args], {
      cwd,
      env: {
        PATH: process.env.PATH,
        HOME: process.env.HOME,
        PGPASSFILE: '/nonexistent',
        PATRONI_PASSWORD: PASSWORD,
      },
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c) => {
      stdout += c;
    });
    child.stderr.on('data', (c) => {
      stderr += c;
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('close', (code) => {
      clearTimeout(timer);
      assert.ok(!`${stdout}${stderr}`.includes(PASSWORD), 'the password leaked');
      resolve({ code, stdout, stderr });
    });
  });
}

/** Polls until the predicate holds, at most timeoutMs. */
async function until(what: string, predicate: () => Promise<boolean>, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await predicate().catch(() => false)) return;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe('Patroni cluster: load tests through a switchover and a failover, status following the leader (real Patroni 3 + etcd)', () => {
  let cluster: PatroniCluster;
  let dir: string;

  const config = (maxConnections: number) => `swarm:
  maxAgents: 8
memory:
  postgresql:
    mode: patroni-ha
    singleNode:
      project: { host: 127.0.0.1, port: 1, database: nothing_here, user: nobody, poolSize: 10 }
    patroni:
      enabled: true
      apiHosts: [${cluster.apiHosts.map((h) => `"${h}"`).join(', ')}]
      database: distributed_postgres_cluster
      user: dpg_cluster
      password: \${PATRONI_PASSWORD}
      minConnections: 2
      maxConnections: ${maxConnections}
      apiTimeout: 2
      failoverTimeout: 30
`;

  /** The run's connections on a member (application_name pool-capacity/<run>). */
  const runConnections = async (member: string) =>
    (
      await cluster.sql(
        member,
        "SELECT count(*)::int AS n FROM pg_stat_activity WHERE application_name LIKE 'pool-capacity/%' AND NOT application_name = ANY($1::text[])",
        [[...SERVICE_APPLICATION_NAMES, OBSERVER_APPLICATION_NAME]],
      )
    )[0].n as number;

  /** `test 8 --rounds <rounds>` on the Patroni pool, once it holds connections on the leader (read unless given). */
  const startSustainedRun = async (
    rounds: number,
    leader?: Awaited<ReturnType<PatroniCluster['leader']>>,
  ) => {
    const before = leader ?? (await cluster.leader());
    const run = startCli(dir, [
      'test',
      '8',
      '--rounds',
      String(rounds),
      '--duration',
      '150',
      '--pool',
      'patroni',
      '--json',
    ]);
    await until(
      'the run to hold connections on the leader',
      async () => (await runConnections(before.name)) >= 2,
    );
    return { before, run };
  };

  before(async () => {
    cluster = await startPatroniCluster();
    const leader = (await cluster.leader()).name;
    await cluster.sql(leader, `CREATE ROLE dpg_cluster LOGIN PASSWORD '${PASSWORD}'`);
    await cluster.sql(leader, 'CREATE DATABASE distributed_postgres_cluster OWNER dpg_cluster');
    dir = await mkdtemp(join(tmpdir(), 'pool-capacity-failover-'));
    await mkdir(join(dir, '.claude-flow'));
    await writeFile(join(dir, '.claude-flow', 'config.yaml'), config(8));
  });

  // Each test starts from one leader with every replica streaming (a failed test may have left less).
  beforeEach(async () => {
    await cluster.waitReady(90_000);
  });

  after(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
    await cluster?.stop();
  });

  it('a sustained test through a switchover: window measured and judged PASS within failoverTimeout, agents on the new leader', async (t) => {
    const { before, run } = await startSustainedRun(40);
    await cluster.switchover();
    const result = await run;
    const json = JSON.parse(result.stdout);
    t.diagnostic(`failover: ${JSON.stringify(json.failover)}`);
    const after = await cluster.leader();
    assert.notEqual(after.name, before.name);
    assert.deepEqual(
      json.failover.leaders.map((l: { member: string }) => l.member),
      [before.name, after.name],
    );
    const w = json.failover.window;
    assert.ok(w, 'agents saw the switchover');
    assert.equal(w.firstSuccessAfter.member, after.name);
    assert.equal(w.lastSuccessBefore.member, before.name);
    assert.ok(w.lastSuccessBefore.at <= w.firstFailure.at && w.firstFailure.at < w.firstSuccessAfter.at);
    for (const cls of Object.keys(w.failures)) assert.ok(FAILOVER_CLASSES.includes(cls), cls);
    assert.ok(w.gapMs > 0 && w.gapMs <= 30_000, String(w.gapMs));
    assert.equal(json.failover.verdict, 'PASS', json.failover.summary);
    // The rounds that met the switchover say how many of their failures the window accounts for.
    const excused = json.phases.reduce(
      (n: number, p: { inFailoverWindow?: number }) => n + (p.inFailoverWindow ?? 0),
      0,
    );
    assert.equal(
      excused,
      Object.values(w.failures as Record<string, number>).reduce((a, b) => a + b, 0),
    );
    // Every pool reconnected at once on the new leader: 8 of 8 admitted (it has room for them).
    assert.equal(json.failover.reconnectBurst.member, after.name);
    assert.equal(json.failover.reconnectBurst.wanted, 8);
    assert.equal(json.failover.reconnectBurst.admitted, 8);
    assert.deepEqual(json.failover.reconnectBurst.refusals, {});
    assert.ok(json.failover.reconnectBurst.otherClients >= 1, 'Patroni holds a connection on the leader');
    // The window's failures are the window's to judge: the run passes, and left nothing behind.
    assert.equal(json.verdict, 'PASS', json.verdictReasons.join('\n'));
    assert.equal(result.code, 0, result.stderr);
    assert.equal(json.leftover, 0);
    assert.equal(await runConnections(after.name), 0);
    await cluster.waitReady();
  });

  it('a sustained test through a failover (leader killed): classified failures, reconnect to the new leader, PASS within failoverTimeout', async (t) => {
    const { before, run } = await startSustainedRun(30);
    await cluster.killMember(before.name);
    let result: Awaited<typeof run>;
    try {
      result = await run;
    } finally {
      await cluster.startMember(before.name);
    }
    const json = JSON.parse(result.stdout);
    t.diagnostic(`failover: ${JSON.stringify(json.failover)}`);
    const after = await cluster.leader();
    assert.notEqual(after.name, before.name);
    const w = json.failover.window;
    assert.ok(w, 'agents saw the failover');
    assert.equal(w.lastSuccessBefore.member, before.name);
    assert.equal(w.firstSuccessAfter.member, after.name);
    // A killed node: sessions cut, then nobody listening (no admin shutdown: nothing shut down cleanly).
    const classes = Object.keys(w.failures);
    for (const cls of classes) assert.ok(FAILOVER_CLASSES.includes(cls), cls);
    assert.ok(classes.includes('connection-lost') || classes.includes('connection-refused'), classes.join());
    // Patroni's ttl is 10 s here: the window is that long, and within failoverTimeout 30 s.
    assert.ok(w.gapMs >= 3000 && w.gapMs <= 30_000, String(w.gapMs));
    assert.equal(json.failover.verdict, 'PASS', json.failover.summary);
    assert.equal(json.failover.reconnectBurst.admitted, 8);
    assert.equal(json.verdict, 'PASS', json.verdictReasons.join('\n'));
    assert.equal(result.code, 0, result.stderr);
    await cluster.waitReady(90_000);
  });

  it('the reconnect burst counts the new leader refusing part of the pools at once', async (t) => {
    // Both replicas (either may be promoted) have only a few slots left for the pool.
    const leader = await cluster.leader();
    const replicas = cluster.members.filter((m) => m.name !== leader.name);
    const occupied = await Promise.all(replicas.map((m) => cluster.occupy(m.name, 90)));
    try {
      const { run } = await startSustainedRun(30, leader);
      await cluster.switchover();
      const result = await run;
      const json = JSON.parse(result.stdout);
      t.diagnostic(`burst: ${JSON.stringify(json.failover.reconnectBurst)}`);
      const burst = json.failover.reconnectBurst;
      assert.equal(burst.wanted, 8);
      // 100 − 3 reserved − Patroni's own − 90 others leaves at most 6 for the pool.
      assert.ok(burst.admitted < 8, JSON.stringify(burst));
      assert.ok(burst.otherClients >= 91, JSON.stringify(burst));
      const refused = Object.values(burst.refusals as Record<string, number>).reduce((a, b) => a + b, 0);
      assert.equal(burst.admitted + refused, 8);
      assert.ok(
        Object.keys(burst.refusals).some((c) => /reserved|too-many/.test(c)),
        JSON.stringify(burst),
      );
      // Agents above what the new leader admits fail after the failover: the capacity verdict says so.
      assert.equal(json.verdict, 'FAIL');
      assert.equal(result.code, 1);
    } finally {
      await Promise.all(occupied.map((o) => o.release()));
      await cluster.waitReady();
    }
  });

  it('status over LSP: the leader and its count, then the new leader after a switchover, without a reload', async () => {
    const lsp = new LspSession({
      workspace: dir,
      env: { PATRONI_PASSWORD: PASSWORD },
      settings: { statusPollIntervalMs: 200, connectTimeoutMs: 2000 },
    });
    try {
      await lsp.initialize();
      const before = await cluster.leader();
      const showing = (name: string) =>
        lsp.waitForNotification<StatusParams>(
          StatusNotification.method,
          (s) => s.servers.some((x) => x.leader === name && x.state === 'ok'),
          20_000,
        );
      const first = await showing(before.name);
      const status = first.servers.find((s) => s.leader === before.name)!;
      assert.equal(status.serverKey, `127.0.0.1:${before.pgPort}`);
      assert.equal(status.maxConnections, 100);
      assert.ok(status.connections! >= 1, 'Patroni counts as a client');
      assert.equal(status.pools[0]!.name, 'patroni');
      assert.equal(status.cluster, cluster.apiHosts.join(', '));
      await cluster.switchover();
      const after = await cluster.leader();
      const t0 = Date.now();
      const next = await showing(after.name);
      // One poll interval plus the REST round trip (bounded generously on a shared machine).
      assert.ok(Date.now() - t0 < 10_000, `${Date.now() - t0} ms`);
      assert.equal(next.servers.find((s) => s.leader === after.name)!.serverKey, `127.0.0.1:${after.pgPort}`);
      assert.ok(!JSON.stringify(lsp.notifications).includes(PASSWORD));
    } finally {
      await lsp.close();
    }
    await cluster.waitReady();
  });

  it('patroni-api-unreachable clears by itself once the REST API answers (backoff re-read, no edit)', async () => {
    // A REST address nobody answers on yet; later a proxy to a real member starts there.
    const port = await freePort();
    const other = await mkdtemp(join(tmpdir(), 'pool-capacity-reread-'));
    await mkdir(join(other, '.claude-flow'));
    const path = join(other, '.claude-flow', 'config.yaml');
    await writeFile(path, config(8).replace(/apiHosts: \[[^\]]*\]/, `apiHosts: ["127.0.0.1:${port}"]`));
    const uri = pathToFileURL(path).toString();
    const lsp = new LspSession({ workspace: other, env: { PATRONI_PASSWORD: PASSWORD } });
    const target = Number(cluster.apiHosts[0]!.split(':')[1]);
    const proxy = http.createServer((req, res) => {
      const upstream = http.request(
        { host: '127.0.0.1', port: target, path: req.url, method: req.method, headers: req.headers },
        (answer) => {
          res.writeHead(answer.statusCode ?? 502, answer.headers);
          answer.pipe(res);
        },
      );
      upstream.on('error', () => res.destroy());
      req.pipe(upstream);
    });
    try {
      await lsp.initialize();
      const lost = await lsp.waitForDiagnostics(
        uri,
        (d) => d.some((x) => x.code === 'patroni-api-unreachable'),
        30_000,
      );
      assert.match(lost.find((x) => x.code === 'patroni-api-unreachable')!.message, /connection refused/);
      // The status bar says the same: the cluster's entry is unreachable, and why.
      const down = await lsp.waitForNotification<StatusParams>(
        StatusNotification.method,
        (st) => st.servers.some((x) => x.cluster !== undefined && x.state === 'unreachable'),
        20_000,
      );
      assert.match(
        down.servers.find((x) => x.cluster)!.error!,
        /REST API did not answer at 127\.0\.0\.1:\d+ \(connection refused\)/,
      );
      await new Promise<void>((resolve) => proxy.listen(port, '127.0.0.1', resolve));
      // The first re-read is 2 s after the validation, then 4, 8, ...: well within 20 s.
      await lsp.waitForDiagnostics(uri, (d) => !d.some((x) => x.code === 'patroni-api-unreachable'), 20_000);
      const up = await lsp.waitForNotification<StatusParams>(
        StatusNotification.method,
        (st) => st.servers.some((x) => x.cluster !== undefined && x.state === 'ok' && x.leader !== undefined),
        20_000,
      );
      assert.equal(up.servers.find((x) => x.cluster)!.leader, (await cluster.leader()).name);
    } finally {
      await lsp.close();
      proxy.closeAllConnections();
      await new Promise((resolve) => proxy.close(resolve));
      await rm(other, { recursive: true, force: true });
    }
  });

  it('test --pool patroni on a config that does not use the cluster says so and exits 2, connecting nowhere', async () => {
    const other = await mkdtemp(join(tmpdir(), 'pool-capacity-notha-'));
    try {
      await mkdir(join(other, '.claude-flow'));
      await writeFile(
        join(other, '.claude-flow', 'config.yaml'),
        config(8).replace('mode: patroni-ha', 'mode: single-node').replace('enabled: true', 'enabled: false'),
      );
      const result = await startCli(other, ['test', '4', '--pool', 'patroni']);
      assert.equal(result.code, 2, result.stdout);
      assert.match(
        result.stderr,
        /uses no Patroni cluster that can be read \(mode patroni-ha or patroni\.enabled true/,
      );
    } finally {
      await rm(other, { recursive: true, force: true });
    }
  });
});
