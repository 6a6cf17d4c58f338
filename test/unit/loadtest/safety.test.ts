import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  checkLoadTestSafety,
  isAllowedHost,
  LoadTestRefused,
  safetyMargin,
} from '../../../server/src/core/loadtest/safety';
import { serverDemands, splitAgents } from '../../../server/src/io/loadtest/engine';
import { settingsDefaults } from '../../../shared/settings';
import { facts } from '../testSupport';

const target = (host = '127.0.0.1') => ({ host, port: 5432, database: 'db', user: 'app', password: 'pw' });

describe('safetyMargin', () => {
  it('keeps 10% of the usable slots, at least 3', () => {
    assert.equal(safetyMargin(97, settingsDefaults), 10);
    assert.equal(safetyMargin(27, settingsDefaults), 3);
    assert.equal(safetyMargin(20, { safetyMarginRatio: 0.5, safetyMarginMin: 3 }), 10);
  });
});

describe('checkLoadTestSafety', () => {
  const demand = (connectionsNeeded: number, overrides = {}, host = '127.0.0.1') => [
    { serverKey: `${host}:5432`, host, facts: [facts(overrides)], connectionsNeeded },
  ];

  it('allows exactly free - margin and refuses one more (max 100: 97 usable, 10 margin)', () => {
    assert.deepEqual(checkLoadTestSafety(demand(87), settingsDefaults), { ok: true, reasons: [] });
    const refused = checkLoadTestSafety(demand(88), settingsDefaults);
    assert.equal(refused.ok, false);
    assert.match(
      refused.reasons[0]!,
      /up to 88 connections on 127\.0\.0\.1:5432, where 97 of 97 usable slots are free and 10 must stay free .* so at most 87/,
    );
  });

  it('counts other clients against the free slots', () => {
    assert.equal(checkLoadTestSafety(demand(50, { usedByOthers: 40 }), settingsDefaults).ok, false);
    assert.equal(checkLoadTestSafety(demand(47, { usedByOthers: 40 }), settingsDefaults).ok, true);
  });

  it('uses the minimum margin on a small server (max 30: 27 usable, 3 margin)', () => {
    assert.equal(checkLoadTestSafety(demand(24, { maxConnections: 30 }), settingsDefaults).ok, true);
    assert.equal(checkLoadTestSafety(demand(25, { maxConnections: 30 }), settingsDefaults).ok, false);
  });

  it('judges by the least privileged role and the most others seen', () => {
    const mixed = [
      {
        serverKey: '127.0.0.1:5432',
        host: '127.0.0.1',
        facts: [facts({ isSuperuser: true, usedByOthers: 2 }), facts({ usedByOthers: 5 })],
        connectionsNeeded: 83,
      },
    ];
    // usable 97 (not 100), free 92, margin 10 -> 82
    assert.equal(checkLoadTestSafety(mixed, settingsDefaults).ok, false);
    mixed[0]!.connectionsNeeded = 82;
    assert.equal(checkLoadTestSafety(mixed, settingsDefaults).ok, true);
  });

  it('refuses hosts outside the allowlist, whatever the slots', () => {
    const result = checkLoadTestSafety(demand(5, {}, 'db.internal'), settingsDefaults);
    assert.equal(result.ok, false);
    assert.match(result.reasons[0]!, /db\.internal:5432 is not in poolCapacity\.loadTestAllowedHosts/);
  });

  it('the refusal says why, and leaves the way ahead to each front end', () => {
    const error = new LoadTestRefused(['too many', 'not allowed']);
    assert.equal(error.message, 'Load test refused: too many; not allowed.');
    assert.deepEqual(error.reasons, ['too many', 'not allowed']);
  });
});

describe('isAllowedHost', () => {
  it('matches loopback names case-insensitively, bracketed IPv6 and socket directories', () => {
    const allowed = settingsDefaults.loadTestAllowedHosts;
    assert.ok(isAllowedHost('LOCALHOST', allowed));
    assert.ok(isAllowedHost('[::1]', allowed));
    assert.ok(isAllowedHost('/var/run/postgresql', allowed));
    assert.ok(!isAllowedHost('10.0.0.5', allowed));
  });
});

describe('serverDemands', () => {
  const pools = [
    {
      pool: { name: 'project' as const, poolSize: 40, minSize: 2, target: target() },
      agents: 50,
      facts: facts(),
    },
    { pool: { name: 'shared' as const, poolSize: 15, target: target() }, agents: 10, facts: facts() },
  ];
  it('pool mode takes at most the pool size per pool, plus one observer per server', () => {
    assert.equal(serverDemands(pools, 'pool')[0]!.connectionsNeeded, 40 + 10 + 1);
  });
  it('direct mode takes one connection per agent', () => {
    assert.equal(serverDemands(pools, 'direct')[0]!.connectionsNeeded, 50 + 10 + 1);
  });
  it('separates servers', () => {
    const other = [pools[0]!, { ...pools[1]!, pool: { ...pools[1]!.pool, target: target('127.0.0.2') } }];
    assert.deepEqual(
      serverDemands(other, 'pool').map((d) => [d.serverKey, d.connectionsNeeded]),
      [
        ['127.0.0.1:5432', 41],
        ['127.0.0.2:5432', 11],
      ],
    );
  });
});

describe('splitAgents', () => {
  it('gives a single pool everything', () => assert.deepEqual(splitAgents(35, [40]), [35]));
  it('splits by pool size with the largest remainder', () => {
    assert.deepEqual(splitAgents(35, [40, 15]), [25, 10]);
    assert.deepEqual(splitAgents(55, [40, 15]), [40, 15]);
    assert.deepEqual(splitAgents(1, [40, 15]), [1, 0]);
  });
  it('never exceeds a pool size at or below the total', () => {
    for (let n = 1; n <= 55; n++) {
      const [a, b] = splitAgents(n, [40, 15]);
      assert.equal(a! + b!, n);
      assert.ok(a! <= 40 && b! <= 15, `${n}: ${a}/${b}`);
    }
  });
});
