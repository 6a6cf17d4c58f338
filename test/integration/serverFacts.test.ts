/**
 * The probe against a real server: what it reads, what it counts as "used by others", and how it
 * names each way a connection can fail.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { freePort } from '../../harness/freePort';
import { type Cluster, type Occupation, startCluster } from '../../harness/pgCluster';
import type { ProbeOutcome, ServerFacts } from '../../server/src/core/capacity/serverFacts';
import type { ConnectionTarget } from '../../server/src/core/connection/connectionTarget';
import { probeServer } from '../../server/src/io/probe/probeServer';

const APP_PASSWORD = 'app-Secret-7f3c';
const BOSS_PASSWORD = 'boss-Secret-91ad';
const OTHER_PASSWORD = 'other-Secret-2b6e';

function target(cluster: Cluster, user: string, password: string, database = 'postgres'): ConnectionTarget {
  return { host: cluster.host, port: cluster.port, user, password, database };
}

async function probe(t: ConnectionTarget): Promise<ProbeOutcome> {
  return probeServer(t, { connectTimeoutMs: 5_000 });
}

async function facts(t: ConnectionTarget): Promise<ServerFacts> {
  const outcome = await probe(t);
  assert.ok(outcome.ok, `probe failed: ${JSON.stringify(outcome)}`);
  return outcome.facts;
}

describe('probeServer on a server with max_connections 30', () => {
  let cluster: Cluster;
  const held: Occupation[] = [];

  before(async () => {
    cluster = await startCluster({ maxConnections: 30 });
    await cluster.createRole('app', { password: APP_PASSWORD, connectionLimit: 10 });
    await cluster.createRole('boss', { password: BOSS_PASSWORD, superuser: true });
    await cluster.createRole('other', { password: OTHER_PASSWORD });
    await cluster.createDatabase('appdb', { owner: 'app', connectionLimit: 12 });
  });
  after(async () => {
    for (const h of held) await h.release();
    await cluster?.stop();
  });

  it('a non-superuser role reads the limits', async () => {
    const f = await facts(target(cluster, 'app', APP_PASSWORD, 'appdb'));
    assert.equal(f.serverVersionNum >= 150000, true);
    assert.match(f.serverVersion, /^\d+\.\d+/);
    assert.equal(Math.floor(f.serverVersionNum / 10000), cluster.majorVersion);
    assert.equal(f.maxConnections, 30);
    assert.equal(f.superuserReserved, 3);
    assert.equal(f.reserved, 0);
    assert.equal(f.isSuperuser, false);
    assert.equal(f.mayUseReserved, false);
    assert.equal(f.roleLimit, 10);
    assert.equal(f.databaseLimit, 12);
    // Only the harness's admin connection is there; the probe never counts itself.
    assert.equal(f.usedByOthers, 1);
    assert.equal(f.roleInUse, 0);
    assert.equal(f.databaseInUse, 0);
    assert.equal(f.usageVisibility, 'by name');
  });

  it('limits read -1 when unset, and a superuser is recognised', async () => {
    const f = await facts(target(cluster, 'boss', BOSS_PASSWORD));
    assert.equal(f.isSuperuser, true);
    assert.equal(f.roleLimit, -1);
    assert.equal(f.databaseLimit, -1);
    assert.equal(f.usageVisibility, 'all roles');
  });

  it('counts other clients exactly, whoever owns them, load-test runs included, but not our probe and status', async () => {
    // The plain role must not be able to see other sessions' details, or this proves nothing.
    const [visibility] = await cluster.sql(
      "SELECT pg_has_role('app', 'pg_read_all_stats', 'USAGE') AS stats, pg_has_role('app', 'pg_monitor', 'USAGE') AS monitor",
    );
    assert.deepEqual(visibility, { stats: false, monitor: false });

    held.push(await cluster.occupy(5)); // superuser, database postgres
    held.push(await cluster.occupy(2, { user: 'app', password: APP_PASSWORD, database: 'appdb' }));
    held.push(await cluster.occupy(1, { user: 'other', password: OTHER_PASSWORD, database: 'appdb' }));
    // A load-test run's agents hold slots like any client (another run must not take them); our
    // own status connection does not count.
    held.push(
      await cluster.occupy(3, {
        user: 'app',
        password: APP_PASSWORD,
        database: 'appdb',
        applicationName: 'pool-capacity/run-1',
      }),
    );
    held.push(await cluster.occupy(1, { applicationName: 'pool-capacity/status' }));
    assert.equal(await cluster.countConnections('pool-capacity/', { prefix: true }), 4);

    const expectedOthers = 1 /* admin */ + 5 + 2 + 1 + 3; /* run-1 */
    const plain = await facts(target(cluster, 'app', APP_PASSWORD, 'appdb'));
    assert.equal(plain.usedByOthers, expectedOthers);
    assert.equal(plain.roleInUse, 2 + 3);
    assert.equal(plain.databaseInUse, 3 + 3);

    // Full visibility agrees with the unprivileged count.
    const superuser = await facts(target(cluster, 'boss', BOSS_PASSWORD, 'appdb'));
    assert.equal(superuser.usedByOthers, expectedOthers);
    assert.equal(superuser.roleInUse, 0);
    assert.equal(superuser.databaseInUse, 3 + 3);

    for (const h of held.splice(0)) await h.release();
    const after = await facts(target(cluster, 'app', APP_PASSWORD, 'appdb'));
    assert.equal(after.usedByOthers, 1);
    assert.equal(after.roleInUse, 0);
  });

  it('leaves no probe connection behind', async () => {
    await facts(target(cluster, 'app', APP_PASSWORD, 'appdb'));
    assert.equal(await cluster.waitForConnections('pool-capacity/probe', 0), 0);
  });

  it('a wrong password is an authentication failure that never echoes the password', async () => {
    const wrong = 'Wrong-Passw0rd-e41d';
    const outcome = await probe(target(cluster, 'app', wrong, 'appdb'));
    assert.equal(outcome.ok, false);
    assert.ok(!outcome.ok);
    assert.equal(outcome.failure.class, 'authentication');
    assert.equal(outcome.failure.code, '28P01');
    const json = JSON.stringify(outcome);
    assert.equal(json.includes(wrong), false);
    assert.equal(json.includes(APP_PASSWORD), false);
  });

  it('a nonexistent database is no-database', async () => {
    const outcome = await probe(target(cluster, 'app', APP_PASSWORD, 'no_such_db'));
    assert.ok(!outcome.ok);
    assert.equal(outcome.failure.class, 'no-database');
    assert.equal(outcome.failure.code, '3D000');
  });

  it('role and database connection limits are told apart', async () => {
    await cluster.createRole('capped', { password: APP_PASSWORD, connectionLimit: 1 });
    await cluster.createDatabase('smalldb', { connectionLimit: 1 });
    const role = await cluster.occupy(1, { user: 'capped', password: APP_PASSWORD });
    const db = await cluster.occupy(1, { user: 'other', password: OTHER_PASSWORD, database: 'smalldb' });
    try {
      const byRole = await probe(target(cluster, 'capped', APP_PASSWORD));
      assert.ok(!byRole.ok);
      assert.equal(byRole.failure.class, 'role-limit', byRole.failure.message);
      const byDatabase = await probe(target(cluster, 'app', APP_PASSWORD, 'smalldb'));
      assert.ok(!byDatabase.ok);
      assert.equal(byDatabase.failure.class, 'database-limit', byDatabase.failure.message);
    } finally {
      await role.release();
      await db.release();
    }
  });

  it('a closed port is connection-refused', async () => {
    const port = await freePort();
    const outcome = await probe({ ...target(cluster, 'app', APP_PASSWORD), port });
    assert.ok(!outcome.ok);
    assert.equal(outcome.failure.class, 'connection-refused');
    assert.equal(JSON.stringify(outcome).includes(APP_PASSWORD), false);
  });
});

describe('probeServer on a full server', () => {
  let cluster: Cluster;
  const held: Occupation[] = [];

  before(async () => {
    // 10 slots, 3 reserved for superusers: 7 for everyone else, one of which is the admin connection.
    cluster = await startCluster({ maxConnections: 10 });
    await cluster.createRole('app', { password: APP_PASSWORD });
    await cluster.createRole('filler', { password: OTHER_PASSWORD });
    await cluster.createRole('boss', { password: BOSS_PASSWORD, superuser: true });
  });
  after(async () => {
    for (const h of held) await h.release();
    await cluster?.stop();
  });

  it('a non-superuser is refused with 53300 once the unreserved slots are taken', async () => {
    const fill = await cluster.occupy(20, { user: 'filler', password: OTHER_PASSWORD, upToLimit: true });
    held.push(fill);
    assert.equal(fill.count, 6);
    const outcome = await probe(target(cluster, 'app', APP_PASSWORD));
    assert.ok(!outcome.ok, 'the probe should have been refused');
    assert.equal(outcome.failure.code, '53300');
    // PG15: "...reserved for non-replication superuser connections"; PG16+: "...roles with the SUPERUSER attribute".
    assert.equal(outcome.failure.class, 'reserved-superuser', outcome.failure.message);
  });

  it('a superuser is refused with too-many-clients once every slot is taken', async () => {
    const rest = await cluster.occupy(20, { upToLimit: true });
    held.push(rest);
    assert.equal(rest.count, 3);
    const outcome = await probe(target(cluster, 'boss', BOSS_PASSWORD));
    assert.ok(!outcome.ok, 'the probe should have been refused');
    assert.equal(outcome.failure.class, 'too-many-clients');
    assert.equal(JSON.stringify(outcome).includes(BOSS_PASSWORD), false);
  });
});
