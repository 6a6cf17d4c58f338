/**
 * TLS modes as libpq defines them, and the password going only where it belongs, against real
 * servers: a TLS-only one (hostssl, password sent in clear text), a plain-only one (no TLS at all,
 * SCRAM) and one that has TLS but accepts plain connections only (hostnossl, MD5), with a CA the
 * harness makes. Then the CLI: the refusal's reason, and no secret in its output.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { poolConfigYaml } from '../../harness/configFixture';
import { type Cluster, startCluster } from '../../harness/pgCluster';
import { makeTestCa, type TestCa } from '../../harness/tlsFiles';
import { classifyFailure } from '../../server/src/core/connection/connectFailure';
import type { ConnectionTarget } from '../../server/src/core/connection/connectionTarget';
import { closeConnection, openConnection } from '../../server/src/io/db/openConnection';

const PASSWORD = 'tls-Secret-4f1e9';
const APP = 'pool-capacity/tls-test';
const CLI = join(__dirname, '..', '..', 'dist', 'cli.js');

/** Whether the connection of `target` in this mode uses TLS, or the failure class and message. */
async function connectVia(
  target: ConnectionTarget,
): Promise<{ ok: true; tls: boolean } | { ok: false; class: string; message: string }> {
  try {
    const client = await openConnection(target, { connectTimeoutMs: 5000, applicationName: APP });
    try {
      const { rows } = await client.query('SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()');
      return { ok: true, tls: rows[0]?.ssl === true };
    } finally {
      await closeConnection(client);
    }
  } catch (error) {
    const failure = classifyFailure(error, target.password);
    return { ok: false, class: failure.class, message: failure.message };
  }
}

describe('TLS modes and password restrictions against real servers', () => {
  let ca: TestCa;
  let otherCa: TestCa;
  let tlsOnly: Cluster;
  let plainOnly: Cluster;
  let noSslEntry: Cluster;

  before(async () => {
    // The server's certificate names localhost only: verify-full to 127.0.0.1 must fail, verify-ca not.
    ca = makeTestCa({ ips: [], dns: ['localhost'] });
    otherCa = makeTestCa();
    const tls = { certFile: ca.serverCert, keyFile: ca.serverKey };
    [tlsOnly, plainOnly, noSslEntry] = await Promise.all([
      startCluster({ maxConnections: 20, tls, hostLines: 'hostssl', authMethod: 'password' }),
      startCluster({ maxConnections: 20 }),
      startCluster({ maxConnections: 20, tls, hostLines: 'hostnossl', authMethod: 'md5' }),
    ]);
    for (const cluster of [tlsOnly, plainOnly, noSslEntry])
      await cluster.createRole('app', { password: PASSWORD });
  });

  after(async () => {
    await Promise.all([tlsOnly?.stop(), plainOnly?.stop(), noSslEntry?.stop()]);
    ca?.remove();
    otherCa?.remove();
  });

  const target = (
    cluster: Cluster,
    mode: string,
    extra: Partial<ConnectionTarget> = {},
  ): ConnectionTarget => ({
    host: '127.0.0.1',
    port: cluster.port,
    database: 'postgres',
    user: 'app',
    password: PASSWORD,
    ...extra,
    ssl: { ...extra.ssl, mode },
  });

  it('TLS-only server: disable fails; allow, prefer and require connect over TLS', async () => {
    // The server sends the password request in clear text; these modes do not verify it, so the
    // host is allowed explicitly here (the refusal has its own test).
    const allowed = { allowPlainPassword: true };
    const disabled = await connectVia(target(tlsOnly, 'disable', allowed));
    assert.equal(disabled.ok, false);
    assert.match((disabled as { message: string }).message, /pg_hba\.conf/);
    for (const mode of ['allow', 'prefer', 'require']) {
      assert.deepEqual(await connectVia(target(tlsOnly, mode, allowed)), { ok: true, tls: true }, mode);
    }
    assert.equal(await tlsOnly.waitForConnections(APP, 0), 0);
  });

  it('verify-ca checks the chain, not the name; verify-full checks both; require with a root cert verifies', async () => {
    const withCa = { ssl: { mode: '', rootCertPath: ca.caCert } };
    const wrongCa = { ssl: { mode: '', rootCertPath: otherCa.caCert } };
    assert.deepEqual(await connectVia(target(tlsOnly, 'verify-ca', withCa)), { ok: true, tls: true });
    const fullByIp = await connectVia(target(tlsOnly, 'verify-full', withCa));
    assert.equal(fullByIp.ok, false, 'the certificate names localhost, not 127.0.0.1');
    assert.equal((fullByIp as { class: string }).class, 'ssl');
    assert.deepEqual(await connectVia(target(tlsOnly, 'verify-full', { ...withCa, host: 'localhost' })), {
      ok: true,
      tls: true,
    });
    for (const mode of ['verify-ca', 'verify-full', 'require']) {
      const result = await connectVia(target(tlsOnly, mode, wrongCa));
      assert.equal(result.ok, false, `${mode} with another CA`);
      assert.equal((result as { class: string }).class, 'ssl', mode);
    }
    assert.equal(await tlsOnly.waitForConnections(APP, 0), 0);
  });

  it('plain-only server: disable, allow and prefer connect without TLS; require fails', async () => {
    for (const mode of ['disable', 'allow', 'prefer']) {
      assert.deepEqual(await connectVia(target(plainOnly, mode)), { ok: true, tls: false }, mode);
    }
    const required = await connectVia(target(plainOnly, 'require'));
    assert.equal(required.ok, false);
    assert.match((required as { message: string }).message, /does not support SSL/i);
    assert.equal(await plainOnly.waitForConnections(APP, 0), 0);
  });

  it('a server with TLS whose pg_hba.conf accepts plain only: prefer falls back to plain, require fails', async () => {
    const allowed = { allowPlainPassword: true };
    assert.deepEqual(await connectVia(target(noSslEntry, 'prefer', allowed)), { ok: true, tls: false });
    assert.deepEqual(await connectVia(target(noSslEntry, 'allow', allowed)), { ok: true, tls: false });
    const required = await connectVia(target(noSslEntry, 'require', allowed));
    assert.equal(required.ok, false);
    assert.match((required as { message: string }).message, /pg_hba\.conf/);
  });

  it('a clear-text or MD5 password request without verified TLS is refused, unless the host is allowed', async () => {
    // Clear text over TLS that verifies nothing (require), and MD5 without TLS.
    for (const [cluster, mode, asked] of [
      [tlsOnly, 'require', 'in clear text'],
      [tlsOnly, 'prefer', 'in clear text'],
      [noSslEntry, 'disable', 'as MD5'],
    ] as const) {
      const refused = await connectVia(target(cluster, mode));
      assert.equal(refused.ok, false, mode);
      const { message, class: cls } = refused as { class: string; message: string };
      assert.equal(cls, 'authentication');
      assert.ok(message.includes(`asked for the password ${asked}`), message);
      assert.match(message, /it was not sent.*allowPlainPasswordHosts/);
      assert.ok(!message.includes(PASSWORD));
    }
    // Verified TLS may receive it; SCRAM never reveals it, so it needs no permission.
    assert.deepEqual(
      await connectVia(
        target(tlsOnly, 'verify-full', { host: 'localhost', ssl: { mode: '', rootCertPath: ca.caCert } }),
      ),
      { ok: true, tls: true },
    );
    assert.deepEqual(await connectVia(target(plainOnly, 'disable')), { ok: true, tls: false });
    assert.deepEqual(await connectVia(target(noSslEntry, 'disable', { allowPlainPassword: true })), {
      ok: true,
      tls: false,
    });
    for (const cluster of [tlsOnly, plainOnly, noSslEntry])
      assert.equal(await cluster.waitForConnections(APP, 0), 0);
  });

  describe('the CLI', () => {
    let dir: string;
    const run = (args: string[], env: Record<string, string> = {}) => {
      const result = spawnSync(process.execPath, [CLI, ...args], {
        cwd: dir,
        env: { PATH: process.env.PATH, HOME: dir, PGPASSFILE: '/nonexistent', ...env },
        encoding: 'utf8',
        timeout: 30_000,
      });
      return { code: result.status, out: `${result.stdout}${result.stderr}` };
    };
    const write = (text: string) => writeFile(join(dir, '.claude-flow', 'config.yaml'), text);
    const pool = (cluster: Cluster, password: string) =>
      poolConfigYaml({
        backend: false,
        project: { port: cluster.port, password, sslmode: 'disable', poolSize: 2 },
      });

    before(async () => {
      dir = await mkdtemp(join(tmpdir(), 'pool-capacity-tls-cli-'));
      await mkdir(join(dir, '.claude-flow'));
    });
    after(async () => {
      await rm(dir, { recursive: true, force: true });
    });

    it('check says why the password was not sent, and --allow-plain-password lets it go', async () => {
      await write(pool(noSslEntry, '${APP_PASSWORD}'));
      const refused = run(['check'], { APP_PASSWORD: PASSWORD });
      assert.match(refused.out, /auth-failed .*asked for the password as MD5 without TLS.*it was not sent/);
      assert.ok(!refused.out.includes(PASSWORD));
      const allowed = run(['check', '--allow-plain-password', '127.0.0.1'], { APP_PASSWORD: PASSWORD });
      assert.doesNotMatch(allowed.out, /auth-failed|server-unreachable/);
      assert.equal(allowed.code, 0, allowed.out);
      assert.equal(await noSslEntry.waitForConnections('pool-capacity/', 0, { prefix: true }), 0);
    });

    it('an unquoted password starting with | or > is quoted in no output: text, --json or exit message', async () => {
      for (const secret of ['|Pw-leak-7731', '>Pw-leak-7731']) {
        await write(pool(plainOnly, secret));
        for (const args of [
          ['check'],
          ['check', '--json'],
          ['report'],
          ['test', '2'],
          ['test', '2', '--json'],
        ]) {
          const result = run(args);
          assert.ok(!result.out.includes('Pw-leak-7731'), `${args.join(' ')}: ${result.out}`);
        }
        const json = JSON.parse(run(['check', '--json']).out.split('\n').filter(Boolean).join('\n'));
        const syntax = json.diagnostics.find((d: { code: string }) => d.code === 'yaml-syntax');
        assert.match(syntax.message, /password key is not valid YAML/);
      }
    });
  });
});
