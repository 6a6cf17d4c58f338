import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  classifyFailure,
  classifyRefusal,
  describeConnectFailure,
  FAILURE_LABELS,
  type FailureClass,
  NO_PASSWORD_FOUND,
  QUERY_TIMEOUT_MESSAGE,
  UNVERIFIED_CODES,
  unverifiedCode,
} from '../../../server/src/core/connection/connectFailure';
import { queryTimeoutMs } from '../../../server/src/io/db/openConnection';
import { probeDeadlineMs } from '../../../server/src/io/probe/probeServer';

describe('classifyRefusal: every wording of a 53300 refusal', () => {
  const wordings: [string, FailureClass][] = [
    ['sorry, too many clients already', 'too-many-clients'],
    // PostgreSQL up to 15
    [
      'remaining connection slots are reserved for non-replication superuser connections',
      'reserved-superuser',
    ],
    // PostgreSQL 16+
    ['remaining connection slots are reserved for roles with the SUPERUSER attribute', 'reserved-superuser'],
    [
      'remaining connection slots are reserved for roles with privileges of the "pg_use_reserved_connections" role',
      'reserved-pg-use-reserved',
    ],
    // Amazon RDS
    [
      'remaining connection slots are reserved for non-replication superuser and rds_superuser connections',
      'reserved-superuser',
    ],
    // A platform's own reserved role, named differently
    ['remaining connection slots are reserved for azure replication users', 'reserved-superuser'],
    ['too many connections for role "app"', 'role-limit'],
    ['too many connections for database "appdb"', 'database-limit'],
    // A translated server still refused for lack of slots.
    ['Tut mir leid, schon zu viele Verbindungen', 'too-many-clients'],
  ];
  for (const [message, expected] of wordings) {
    it(`${expected}: ${message}`, () => {
      assert.equal(classifyRefusal(message), expected);
      const failure = classifyFailure({ code: '53300', message });
      assert.equal(failure.class, expected);
      assert.equal(unverifiedCode(failure.class), 'server-full');
    });
  }
});

describe('unverifiedCode: one class → code mapping', () => {
  const cases: [unknown, string][] = [
    [{ code: 'ECONNREFUSED', message: 'connect ECONNREFUSED 127.0.0.1:1' }, 'server-unreachable'],
    [{ code: 'ENOTFOUND', message: 'getaddrinfo ENOTFOUND db.invalid' }, 'server-unreachable'],
    [{ code: 'EAI_AGAIN', message: 'getaddrinfo EAI_AGAIN db' }, 'server-unreachable'],
    [{ code: 'EHOSTUNREACH', message: 'connect EHOSTUNREACH 10.1.1.1:5432' }, 'server-unreachable'],
    [new Error('timeout expired'), 'server-unreachable'],
    [new Error('Connection terminated unexpectedly'), 'server-unreachable'],
    [new Error('Query read timeout'), 'server-unreachable'],
    [{ code: '57P03', message: 'the database system is starting up' }, 'server-unreachable'],
    [{ code: '28P01', message: 'password authentication failed for user "app"' }, 'auth-failed'],
    [{ code: '28000', message: 'no pg_hba.conf entry for host "10.0.0.1", user "app"' }, 'auth-failed'],
    [{ code: '3D000', message: 'database "nope" does not exist' }, 'database-missing'],
    [{ code: '53300', message: 'sorry, too many clients already' }, 'server-full'],
    [{ code: '08P01', message: 'no more connections allowed (max_client_conn)' }, 'server-full'],
    [new Error('The server does not support SSL connections'), 'tls-failed'],
    [{ code: 'DEPTH_ZERO_SELF_SIGNED_CERT', message: 'self-signed certificate' }, 'tls-failed'],
    [{ code: 'ERR_TLS_CERT_ALTNAME_INVALID', message: 'Hostname/IP does not match' }, 'tls-failed'],
    [new Error('something else entirely'), 'server-unreachable'],
  ];
  for (const [error, code] of cases) {
    it(`${(error as { message: string }).message} → ${code}`, () => {
      assert.equal(unverifiedCode(classifyFailure(error).class), code);
    });
  }

  it('maps every class to one of the documented codes', () => {
    for (const cls of Object.keys(FAILURE_LABELS) as FailureClass[])
      assert.ok(UNVERIFIED_CODES.includes(unverifiedCode(cls)), cls);
  });
});

describe('a login without a password', () => {
  it("says no password was found instead of node-postgres's SASL type error", () => {
    const failure = classifyFailure(
      new Error('SASL: SCRAM-SERVER-FIRST-MESSAGE: client password must be a string'),
    );
    assert.equal(unverifiedCode(failure.class), 'auth-failed');
    assert.equal(failure.message, NO_PASSWORD_FOUND);
    assert.match(failure.message, /no password was found \(config, `\$\{VAR\}`, `PGPASSWORD`, pgpass\)/);
  });
});

describe('a query that got no answer', () => {
  it("is a query timeout, worded as what happened rather than node-postgres's words", () => {
    const failure = classifyFailure(new Error('Query read timeout'));
    assert.equal(failure.class, 'query-timeout');
    assert.equal(failure.message, QUERY_TIMEOUT_MESSAGE);
    assert.equal(
      describeConnectFailure('app@db:5432/appdb', failure),
      'cannot connect to app@db:5432/appdb: query timeout (connected, then the server did not answer a query within the query timeout)',
    );
  });

  it('is twice the connect timeout, at least 2 s, and ends before the probe gives up', () => {
    assert.equal(queryTimeoutMs(1000), 2000);
    assert.equal(queryTimeoutMs(100), 2000);
    assert.equal(queryTimeoutMs(3000), 6000);
    assert.equal(queryTimeoutMs(30_000), 60_000);
    for (const connect of [100, 1000, 3000, 30_000, 120_000])
      assert.ok(queryTimeoutMs(connect) < probeDeadlineMs(connect), String(connect));
  });
});

describe('describeConnectFailure', () => {
  it('names the target, the label and the server message, never a password', () => {
    const failure = classifyFailure(
      {
        code: '28P01',
        message: 'password authentication failed for user "app" (postgres://app:hunter2@db/x)',
      },
      'hunter2',
    );
    const text = describeConnectFailure('app@db:5432/appdb', failure);
    assert.equal(
      text,
      'cannot connect to app@db:5432/appdb: authentication failed (28P01: password authentication failed for user "app" (postgres://app:***@db/x))',
    );
    assert.ok(!text.includes('hunter2'));
  });
});
