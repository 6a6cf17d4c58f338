/**
 * Two `pool-capacity test` runs against one server at once: the second counts the first run's
 * connections as used, so it is refused like any other test that would break the safety margin,
 * and a client from outside still gets a connection throughout.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import pg from 'pg';
import { spawnCli } from '../../harness/cliProcess';
import { writePoolConfig } from '../../harness/configFixture';
import { type Cluster, startCluster } from '../../harness/pgCluster';

const PASSWORD = 'concurrent-Pw-3c9e';

describe('concurrent load tests on one server (max_connections 30)', { timeout: 120_000 }, () => {
  let cluster: Cluster;
  let workspace: string;

  before(async () => {
    cluster = await startCluster({ maxConnections: 30 });
    await cluster.createRole('app', { password: PASSWORD });
    workspace = mkdtempSync(path.join(os.tmpdir(), 'pool-capacity-concurrent-'));
    writePoolConfig(workspace, {
      maxAgents: 12,
      backend: false,
      env: { APP_DB_PASSWORD: PASSWORD },
      project: { port: cluster.port, poolSize: 12 },
    });
  });

  const run = (args: string[]) => spawnCli(args, { cwd: workspace }).done;

  after(async () => {
    rmSync(workspace, { recursive: true, force: true });
    await cluster?.stop();
  });

  /** An outside client: connects, answers a query, disconnects. */
  async function outsideClientConnects(): Promise<void> {
    const client = new pg.Client({
      host: cluster.host,
      port: cluster.port,
      user: 'app',
      password: PASSWORD,
      database: 'postgres',
      application_name: 'outside-client',
      connectionTimeoutMillis: 5000,
    });
    await client.connect();
    try {
      assert.deepEqual((await client.query('SELECT 1 AS one')).rows, [{ one: 1 }]);
    } finally {
      await client.end();
    }
  }

  it('the second run is refused while the first holds its connections; outside clients still connect', async () => {
    // 27 usable, 3 kept as the safety margin. One run holds 12 agents + 1 observer = 13: the first
    // fits (about 26 free); the second sees the first's 12 agents as used (about 14 free, so at most
    // 11) and is refused.
    const first = run(['test', '12', '--duration', '6000', '--pool', 'project', '--json']);
    const deadline = Date.now() + 20_000;
    while ((await cluster.countConnections('pool-capacity/', { prefix: true })) < 13) {
      assert.ok(Date.now() < deadline, 'the first run never held its connections');
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
    await outsideClientConnects();

    const secondRun = run(['test', '12', '--duration', '6000', '--pool', 'project', '--json']);
    await outsideClientConnects();
    const second = await secondRun;
    assert.equal(second.code, 2, second.stderr);
    assert.equal(second.stdout, '');
    assert.match(
      second.stderr,
      /Load test refused: it would hold up to 12 agents \+ 1 observer connection = 13 connections on 127\.0\.0\.1:\d+, where 1\d of 27 usable slots are free and 3 must stay free .* so at most \d+ \(1\d held by other clients, other load-test runs included\)/,
    );
    assert.ok(!second.stderr.includes(PASSWORD));

    // The first run was not disturbed: every agent got its connection, none left behind.
    const result = await first;
    assert.equal(result.code, 0, result.stderr);
    const report = JSON.parse(result.stdout);
    assert.equal(report.succeeded, 12);
    assert.equal(report.leftover, 0);
    assert.equal(await cluster.waitForConnections('pool-capacity/', 0, { prefix: true }), 0);
    await outsideClientConnects();
  });
});
