/**
 * The run's observer against a real server: it counts the run's connections (and only the run's),
 * keeps the peak, counts after a round once closed backends have gone, and counts what a run
 * leaves behind, reopening its connection when it lost it.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type pg from 'pg';
import { type Cluster, startCluster } from '../../harness/pgCluster';
import { APPLICATION_NAME_PREFIX } from '../../server/src/core/capacity/serverFacts';
import { type ConnectionTarget, serverKey } from '../../server/src/core/connection/connectionTarget';
import type { PlannedServer } from '../../server/src/core/loadtest/plan';
import { closeConnection, openConnection } from '../../server/src/io/db/openConnection';
import { RunObserver } from '../../server/src/io/loadtest/runObserver';

const PASSWORD = 'observer-Secret-Pw-51aa';
let cluster: Cluster;

function target(): ConnectionTarget {
  return { host: cluster.host, port: cluster.port, database: 'postgres', user: 'app', password: PASSWORD };
}

function servers(): Map<string, PlannedServer> {
  return new Map([[serverKey(target()), { pool: { name: 'project', poolSize: 10, target: target() } }]]);
}

const open = (applicationName: string) =>
  openConnection(target(), { connectTimeoutMs: 5000, applicationName });

describe('the run observer on a real server (max_connections 20)', { timeout: 60_000 }, () => {
  before(async () => {
    cluster = await startCluster({ maxConnections: 20 });
    await cluster.createRole('app', { password: PASSWORD });
  });
  after(async () => {
    await cluster?.stop();
  });

  it('counts the run’s connections, keeps the peak and counts none left once they close', async () => {
    const name = `${APPLICATION_NAME_PREFIX}obs1`;
    const run = new AbortController();
    const observer = new RunObserver(servers(), name, 5000, run.signal);
    const others = await Promise.all([open('someone-else'), open(`${APPLICATION_NAME_PREFIX}obs2`)]);
    const mine: pg.Client[] = [];
    try {
      await observer.open();
      assert.equal(observer.connectionsOn(serverKey(target())), 1);
      await observer.startSampling();
      assert.equal(observer.peak, 0, 'other clients and other runs are not counted');
      mine.push(...(await Promise.all([open(name), open(name), open(name)])));
      assert.equal(await observer.countAfterRound(() => 3), 3);
      assert.equal(observer.peak, 3);
      await Promise.all(mine.splice(0).map((c) => closeConnection(c, 2000)));
      // After the round: the count waits for closed backends to go, down to what is still held.
      assert.equal(await observer.countAfterRound(() => 0, 5000), 0);
      observer.stopSampling();
      assert.equal(await observer.countLeftover(), 0);
      assert.equal(observer.peak, 3, 'the peak stays');
      assert.deepEqual(observer.notes, []);
      assert.ok(observer.samples().some((s) => s.connections === 3 && s.server === serverKey(target())));
    } finally {
      await observer.close(2000);
      await Promise.all([...mine, ...others].map((c) => closeConnection(c, 2000)));
    }
  });

  it('counts a connection the run left open, reopening its observer when it lost it', async () => {
    const name = `${APPLICATION_NAME_PREFIX}obs3`;
    const run = new AbortController();
    const observer = new RunObserver(servers(), name, 5000, run.signal);
    const leaked = await open(name);
    try {
      await observer.open();
      // The observer's own connection ends (as when the server restarts it) before the final count.
      await cluster.sql(
        `SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = '${APPLICATION_NAME_PREFIX}observer'`,
      );
      assert.equal(await observer.count(), undefined, 'the run lost its observer');
      assert.equal(await observer.countLeftover(), 1);
      assert.equal(observer.connectionsOn(serverKey(target())), 2, 'a second observer was opened');
      assert.deepEqual(observer.notes, []);
    } finally {
      await observer.close(2000);
      await closeConnection(leaked, 2000);
    }
  });

  it('says what it could not count when no observer connection can be opened', async () => {
    const run = new AbortController();
    const gone = new Map([
      ['127.0.0.1:1', { pool: { name: 'project' as const, poolSize: 1, target: { ...target(), port: 1 } } }],
    ]);
    const observer = new RunObserver(gone, `${APPLICATION_NAME_PREFIX}obs4`, 2000, run.signal);
    try {
      await observer.open();
      await observer.startSampling();
      assert.equal(await observer.count(), 0, 'no observer: nothing to add up');
      assert.equal(await observer.countLeftover(), 0);
      assert.match(
        observer.notes[0] ?? '',
        /^no observer connection on 127\.0\.0\.1:1 \(.*\): peak not sampled$/,
      );
      assert.match(observer.notes[1] ?? '', /^127\.0\.0\.1:1 was down after the run/);
    } finally {
      await observer.close(2000);
    }
  });
});
