/**
 * Proves the throwaway-cluster harness every other integration test stands on.
 * `POOL_CAPACITY_PG=embedded|system` forces (and here asserts) where the binaries come from.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import pg from 'pg';
import { type Cluster, startCluster } from '../../harness/pgCluster';

/** Resolves with the socket error code (or 'connected') within a deadline. */
function tcpProbe(host: string, port: number, timeoutMs = 3_000): Promise<string> {
  return new Promise((resolve) => {
    const socket = net.connect({ host, port });
    const done = (result: string) => {
      socket.destroy();
      resolve(result);
    };
    socket.setTimeout(timeoutMs, () => done('timeout'));
    socket.once('connect', () => done('connected'));
    socket.once('error', (error: NodeJS.ErrnoException) => done(error.code ?? error.message));
  });
}

async function connectAs(cluster: Cluster, user: string, password: string, database = 'postgres') {
  const client = new pg.Client({
    host: cluster.host,
    port: cluster.port,
    user,
    password,
    database,
    connectionTimeoutMillis: 5_000,
    application_name: 'pg-cluster-test',
  });
  client.on('error', () => {});
  try {
    await client.connect();
    return client;
  } catch (error) {
    await client.end().catch(() => {});
    throw error;
  }
}

describe('pgCluster harness', () => {
  let cluster: Cluster;

  before(async () => {
    cluster = await startCluster({ maxConnections: 20 });
  });
  after(async () => {
    await cluster?.stop();
  });

  it('uses the forced binaries and reports a matching version', async () => {
    const forced = process.env.POOL_CAPACITY_PG;
    if (forced) assert.equal(cluster.binSource, forced);
    const [row] = await cluster.sql<{ v: number }>(
      "SELECT current_setting('server_version_num')::int / 10000 AS v",
    );
    assert.equal(row!.v, cluster.majorVersion);
    assert.equal(cluster.host, '127.0.0.1');
    assert.ok(existsSync(path.join(cluster.dataDir, 'PG_VERSION')));
  });

  it('starts with the requested max_connections and the default reserve', async () => {
    const [row] = await cluster.sql<{ max: string; reserved: string }>(
      "SELECT current_setting('max_connections') AS max, current_setting('superuser_reserved_connections') AS reserved",
    );
    assert.deepEqual(row, { max: '20', reserved: '3' });
  });

  it('createRole sets password, login and connection limit', async () => {
    await cluster.createRole('app_user', { password: 'app secret', connectionLimit: 4 });
    const [role] = await cluster.sql(
      "SELECT rolcanlogin, rolsuper, rolconnlimit, rolpassword LIKE 'SCRAM-SHA-256$%' AS scram FROM pg_authid WHERE rolname = $1",
      ['app_user'],
    );
    assert.deepEqual(role, { rolcanlogin: true, rolsuper: false, rolconnlimit: 4, scram: true });
  });

  it('createDatabase sets owner and connection limit', async () => {
    await cluster.createDatabase('app_db', { owner: 'app_user', connectionLimit: 6 });
    const [db] = await cluster.sql(
      'SELECT pg_get_userbyid(datdba) AS owner, datconnlimit FROM pg_database WHERE datname = $1',
      ['app_db'],
    );
    assert.deepEqual(db, { owner: 'app_user', datconnlimit: 6 });
  });

  it('occupy(5) holds five slots and release() gives them back', async () => {
    assert.equal(await cluster.countConnections('other-client'), 0);
    const held = await cluster.occupy(5);
    assert.equal(held.count, 5);
    assert.equal(await cluster.countConnections('other-client'), 5);
    assert.equal(await cluster.countConnections('other-', { prefix: true }), 5);
    await held.release();
    // release() waits until the server has dropped the backends, so no polling is needed here.
    assert.equal(await cluster.countConnections('other-client'), 0);
  });

  it('occupy as a role on a database, and upToLimit stops at the role limit', async () => {
    const held = await cluster.occupy(10, {
      user: 'app_user',
      password: 'app secret',
      database: 'app_db',
      applicationName: 'filler',
      upToLimit: true,
    });
    assert.equal(held.count, 4, 'app_user has CONNECTION LIMIT 4');
    assert.equal(await cluster.waitForConnections('filler', 4), 4);
    await held.release();
    assert.equal(await cluster.countConnections('filler'), 0);
  });

  it('a password role logs in over TCP with SCRAM; a wrong password fails with 28P01', async () => {
    const client = await connectAs(cluster, 'app_user', 'app secret', 'app_db');
    try {
      const [row] = (await client.query('SELECT current_user AS u, current_database() AS d')).rows;
      assert.deepEqual(row, { u: 'app_user', d: 'app_db' });
    } finally {
      await client.end();
    }
    await assert.rejects(connectAs(cluster, 'app_user', 'not the password'), (error: { code?: string }) => {
      assert.equal(error.code, '28P01');
      return true;
    });
  });

  it('the superuser password from env() works for TCP tools', async () => {
    const env = cluster.env();
    assert.deepEqual(Object.keys(env).sort(), ['PGHOST', 'PGPASSWORD', 'PGPORT', 'PGUSER']);
    const client = await connectAs(cluster, env.PGUSER!, env.PGPASSWORD!);
    await client.end();
  });

  it('restart() applies a new max_connections and sql() reconnects', async () => {
    await cluster.restart({ maxConnections: 25 });
    const [row] = await cluster.sql<{ max: string }>("SELECT current_setting('max_connections') AS max");
    assert.equal(row!.max, '25');
  });
});

describe('pgCluster lifecycle', () => {
  it('stop() closes the port and removes its directory, and is idempotent', async () => {
    const cluster = await startCluster();
    const baseDir = path.dirname(cluster.dataDir);
    assert.equal(await tcpProbe(cluster.host, cluster.port), 'connected');
    await cluster.stop();
    await cluster.stop();
    assert.equal(await tcpProbe(cluster.host, cluster.port), 'ECONNREFUSED');
    assert.equal(existsSync(baseDir), false, `${baseDir} should be gone`);
  });

  it('kill() makes new connections fail with ECONNREFUSED', async () => {
    const cluster = await startCluster();
    try {
      const held = await cluster.occupy(2);
      await cluster.kill();
      await assert.rejects(
        connectAs(cluster, cluster.superuser, cluster.superuserPassword),
        (error: { code?: string }) => {
          assert.equal(error.code, 'ECONNREFUSED');
          return true;
        },
      );
      await held.release();
      // Data survives a kill: the server comes back.
      await cluster.restart();
      assert.equal((await cluster.sql('SELECT 1 AS one'))[0].one, 1);
    } finally {
      await cluster.stop();
    }
  });

  it('md5 auth stores md5 secrets and accepts them over TCP', async () => {
    const cluster = await startCluster({ authMethod: 'md5' });
    try {
      await cluster.createRole('legacy', { password: 'legacy pw' });
      const [row] = await cluster.sql(
        "SELECT rolpassword LIKE 'md5%' AS md5 FROM pg_authid WHERE rolname = 'legacy'",
      );
      assert.equal(row.md5, true);
      const client = await connectAs(cluster, 'legacy', 'legacy pw');
      await client.end();
    } finally {
      await cluster.stop();
    }
  });
});
