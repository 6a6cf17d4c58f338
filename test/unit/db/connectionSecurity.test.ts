import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import pg from 'pg';
import type { ConnectionTarget } from '../../../server/src/core/connection/connectionTarget';
import {
  guardPassword,
  isVerified,
  noteFailedAttempt,
  PLAIN_PASSWORD_REFUSED,
  tlsAttempts,
  triesOtherMode,
} from '../../../server/src/io/db/connectionSecurity';

const target = (mode: string, extra: Partial<ConnectionTarget> = {}): ConnectionTarget => ({
  host: 'db.internal',
  port: 5432,
  database: 'app',
  user: 'app',
  password: 'pw-unit-1234',
  ssl: { mode },
  ...extra,
});

/** What each attempt is: plain, TLS unverified, TLS verifying the chain, TLS verifying chain and name. */
const shape = (t: ConnectionTarget) =>
  tlsAttempts(t).map((tls) =>
    tls === false
      ? 'plain'
      : !tls.rejectUnauthorized
        ? 'tls'
        : tls.checkServerIdentity
          ? 'tls-chain'
          : 'tls-full',
  );

describe('TLS attempts per sslmode (libpq)', () => {
  let dir: string;
  let ca: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'pool-capacity-tls-unit-'));
    ca = join(dir, 'root.crt');
    await writeFile(ca, '-----BEGIN CERTIFICATE-----\nnot parsed here\n-----END CERTIFICATE-----\n');
  });
  after(() => rm(dir, { recursive: true, force: true }));

  it('orders and verifies as libpq does', () => {
    assert.deepEqual(shape(target('disable')), ['plain']);
    assert.deepEqual(shape(target('allow')), ['plain', 'tls']);
    assert.deepEqual(shape(target('prefer', { port: 1 })), ['tls', 'plain']);
    assert.deepEqual(shape(target('require')), ['tls']);
    assert.deepEqual(shape(target('require', { ssl: { mode: 'require', rootCertPath: ca } })), ['tls-chain']);
    assert.deepEqual(shape(target('verify-ca', { ssl: { mode: 'verify-ca', rootCertPath: ca } })), [
      'tls-chain',
    ]);
    assert.deepEqual(shape(target('verify-full', { ssl: { mode: 'verify-full', rootCertPath: ca } })), [
      'tls-full',
    ]);
    assert.deepEqual(shape({ ...target('x'), ssl: undefined }), ['plain']);
  });

  it('prefer tries plain first for a while once the server said it has no TLS', () => {
    const t = target('prefer', { port: 2 });
    const [first] = tlsAttempts(t);
    noteFailedAttempt(t, first!, new Error('The server does not support SSL connections'));
    assert.deepEqual(shape(t), ['plain', 'tls']);
    // Another server is not affected, nor is a failure of another kind.
    const other = target('prefer', { port: 3 });
    noteFailedAttempt(
      other,
      tlsAttempts(other)[0]!,
      Object.assign(new Error('no pg_hba.conf entry'), { code: '28000' }),
    );
    assert.deepEqual(shape(other), ['tls', 'plain']);
  });

  it('falls back only where the other mode can succeed', () => {
    assert.ok(triesOtherMode(Object.assign(new Error('no pg_hba.conf entry for host'), { code: '28000' })));
    assert.ok(triesOtherMode(new Error('The server does not support SSL connections')));
    assert.ok(!triesOtherMode(Object.assign(new Error('password authentication failed'), { code: '28P01' })));
    assert.ok(!triesOtherMode(Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' })));
    assert.ok(!triesOtherMode(Object.assign(new Error('refused'), { code: PLAIN_PASSWORD_REFUSED })));
  });
});

describe('the password guard', () => {
  /** A client that is never connected: the server's request is played on its connection. */
  const ask = (t: ConnectionTarget, request: string, verified = false) => {
    const tls = verified ? { rejectUnauthorized: true } : false;
    const client = new pg.Client({ password: t.password });
    guardPassword(client, t, tls);
    (client as unknown as { connection: NodeJS.EventEmitter }).connection.emit(request, {});
    const password = (client as unknown as { password: unknown }).password;
    return () => (typeof password === 'function' ? password() : password);
  };

  it('refuses clear text and MD5 without verified TLS, saying why', () => {
    for (const [request, asked] of [
      ['authenticationCleartextPassword', 'in clear text'],
      ['authenticationMD5Password', 'as MD5'],
    ]) {
      assert.throws(ask(target('prefer'), request!), (error: Error & { code?: string }) => {
        assert.equal(error.code, PLAIN_PASSWORD_REFUSED);
        assert.match(
          error.message,
          new RegExp(`db.internal:5432 asked for the password ${asked} without TLS`),
        );
        assert.match(error.message, /allowPlainPasswordHosts.*--allow-plain-password db\.internal/);
        assert.ok(!error.message.includes('pw-unit-1234'));
        return true;
      });
    }
  });

  it('gives it over verified TLS, for an allowed host, on a Unix socket, and for SCRAM', () => {
    assert.equal(ask(target('verify-full'), 'authenticationCleartextPassword', true)(), 'pw-unit-1234');
    assert.equal(
      ask(target('disable', { allowPlainPassword: true }), 'authenticationMD5Password')(),
      'pw-unit-1234',
    );
    assert.equal(
      ask(target('disable', { host: '/run/postgresql' }), 'authenticationMD5Password')(),
      'pw-unit-1234',
    );
    assert.equal(ask(target('disable'), 'authenticationSASL')(), 'pw-unit-1234');
    assert.ok(isVerified({ rejectUnauthorized: true }));
    assert.ok(!isVerified({ rejectUnauthorized: false }));
  });
});
