import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { type BudgetPool, poolerBudget, serverBudget } from '../../../server/src/core/capacity/serverBudget';
import type { ServerFacts } from '../../../server/src/core/capacity/serverFacts';
import { checkLoadTestSafety } from '../../../server/src/core/loadtest/safety';
import { liveBudget } from '../../../server/src/io/probe/statusPoller';
import { settingsDefaults } from '../../../shared/settings';
import { facts, pgBouncerFacts } from '../testSupport';

const pool = (
  name: 'project' | 'shared',
  poolSize: number,
  f: ServerFacts,
  user = `${name}_user`,
  database = `${name}_db`,
): BudgetPool => ({ name, poolSize, user, database, facts: f });

const HEADROOM = { ratio: 0.1 };

describe('serverBudget', () => {
  it('the demo: project 40 + shared 3 on max_connections 20 (3 reserved, 1 other client)', () => {
    const f = facts({ maxConnections: 20, usedByOthers: 1 });
    const b = serverBudget('127.0.0.1:5432', [pool('project', 40, f), pool('shared', 3, f)], HEADROOM);
    assert.deepEqual(
      {
        usable: b.usable,
        free: b.free,
        poolsTotal: b.poolsTotal,
        freeAfter: b.freeAfter,
        headroomSlots: b.headroomSlots,
        verdict: b.verdict,
        shortBy: b.shortBy,
        attainableTotal: b.attainableTotal,
        resizeAll: b.resizeAll,
        maxConnectionsToFit: b.maxConnectionsToFit,
      },
      {
        usable: 17,
        free: 16,
        poolsTotal: 43,
        freeAfter: -27,
        headroomSlots: 2,
        verdict: 'exceeds',
        // 43 against the 14 that keep the headroom
        shortBy: 29,
        attainableTotal: 16,
        // 14 in proportion: 14 x 40/43 = 13, 14 x 3/43 = 0, at least 1
        resizeAll: { project: 13, shared: 1 },
        // 52 - 3 reserved = 49 usable; 49 - 1 other - 5 headroom = 43
        maxConnectionsToFit: 52,
      },
    );
    // project alone: 14 - 3 = 11; shared alone cannot fit (40 > 14 - 1), so the finding is project's.
    assert.deepEqual(
      b.pools.map((p) => [p.name, p.largestAlone, p.attainable]),
      [
        ['project', 11, 13],
        ['shared', undefined, 0],
      ],
    );
    assert.deepEqual(b.constraints[0]!.carriers, ['project']);
    // The fix applied, the budget holds with the headroom.
    const fixed = serverBudget('127.0.0.1:5432', [pool('project', 11, f), pool('shared', 3, f)], HEADROOM);
    assert.equal(fixed.verdict, 'ok');
    assert.equal(fixed.freeAfter, 2);
    assert.equal(
      serverBudget('k', [pool('project', 12, f), pool('shared', 3, f)], HEADROOM).verdict,
      'low-headroom',
    );
  });

  it('role and database limits: each pool under its limits, superusers exempt', () => {
    const a = facts({ roleLimit: 10, roleInUse: 2 });
    const b = serverBudget('k', [pool('project', 6, a, 'app'), pool('shared', 5, a, 'app')], HEADROOM);
    assert.equal(b.verdict, 'exceeds');
    assert.deepEqual(
      b.limits.map((l) => [l.kind, l.name, l.limit, l.inUse, l.available, l.need, l.exceeded, l.carriers]),
      [['role', 'app', 10, 2, 8, 11, true, ['project', 'shared']]],
    );
    assert.equal(b.shortBy, 3);
    // project alone: 8 - 5 = 3; shared alone: 8 - 6 = 2; together 8 split 6:5 -> 4 + 3.
    assert.deepEqual(
      b.pools.map((p) => [p.name, p.largestAlone, p.attainable]),
      [
        ['project', 3, 3],
        ['shared', 2, 2],
      ],
    );
    assert.deepEqual(b.resizeAll, { project: 4, shared: 3 });
    assert.equal(b.attainableTotal, 8);
    // Raising max_connections would not help a role limit.
    assert.equal(b.maxConnectionsToFit, undefined);

    const db = serverBudget(
      'k',
      [pool('project', 20, facts({ databaseLimit: 15, databaseInUse: 5 }), 'app', 'appdb')],
      HEADROOM,
    );
    assert.deepEqual(
      db.limits.map((l) => [l.kind, l.name, l.available, l.need]),
      [['database', 'appdb', 10, 20]],
    );
    assert.equal(db.pools[0]!.largestAlone, 10);

    const superuser = facts({ isSuperuser: true, roleLimit: 1, databaseLimit: 1, maxConnections: 20 });
    const su = serverBudget('k', [pool('project', 18, superuser)], HEADROOM);
    // A superuser may use every slot (20, headroom 2) and no CONNECTION LIMIT applies.
    assert.deepEqual([su.usable, su.limits.length, su.verdict], [20, 0, 'ok']);
  });

  it('judges by the least privileged role and the most other clients any probe saw', () => {
    const b = serverBudget(
      'k',
      [
        pool('project', 10, facts({ isSuperuser: true, usedByOthers: 2 })),
        pool('shared', 10, facts({ usedByOthers: 5 })),
      ],
      HEADROOM,
    );
    assert.deepEqual([b.usable, b.usedByOthers, b.free], [97, 5, 92]);
  });

  it('PgBouncer: clients against max_client_conn, its server pools against PostgreSQL', () => {
    const pooler = pgBouncerFacts({ maxClientConn: 50, otherClients: 4 });
    const f = facts({ maxConnections: 30, pooler });
    const b = poolerBudget('127.0.0.1:6432', [pool('project', 40, f), pool('shared', 15, f)], HEADROOM);
    assert.deepEqual(
      {
        clientsAvailable: b.clientsAvailable,
        headroomSlots: b.headroomSlots,
        verdict: b.verdict,
        shortBy: b.shortBy,
        resizeAll: b.resizeAll,
        serverNeed: b.serverNeed,
        serverFree: b.serverFree,
        attainableTotal: b.attainableTotal,
      },
      {
        clientsAvailable: 46,
        headroomSlots: 5,
        verdict: 'exceeds',
        shortBy: 14,
        resizeAll: { project: 29, shared: 11 },
        // min(pool_size 20, 40) + min(20, 15) server connections; PostgreSQL has 27 usable, none used.
        serverNeed: 35,
        serverFree: 27,
        attainableTotal: 46,
      },
    );
    assert.deepEqual(
      b.pools.map((p) => [p.name, p.largestAlone]),
      [
        ['project', 26],
        ['shared', 1],
      ],
    );
    const unreadable = poolerBudget(
      'k',
      [
        pool(
          'project',
          5,
          facts({ pooler: { kind: 'pgbouncer', backendPort: null, limitsUnreadable: 'no' } }),
        ),
      ],
      HEADROOM,
    );
    assert.deepEqual(
      [unreadable.limits, unreadable.verdict, unreadable.constraints],
      [undefined, undefined, []],
    );
  });
});

describe('the same budget behind the status level and the load-test safety check', () => {
  const limits = (superuser: boolean) => ({
    max_connections: 20,
    superuser_reserved: 3,
    reserved: 0,
    roles: [{ name: 'app', super: superuser, limit: -1, mayUseReserved: false }],
    databases: [],
  });
  const pools = [
    { name: 'project', poolSize: 10, configUri: 'file:///c', user: 'app', database: 'db' },
    { name: 'shared', poolSize: 3, configUri: 'file:///c', user: 'app', database: 'db' },
  ];
  const counts = [{ datname: 'db', usename: 'other', n: 5 }];

  it('status level: 10 + 3 > 12 free for a plain role; fits for a superuser (20 usable)', () => {
    const plain = liveBudget('k', pools, { user: 'app', database: 'db' }, limits(false), counts, 0.1);
    assert.deepEqual([plain.level, plain.usable], ['exceeds', 17]);
    assert.equal(plain.summary, 'project 10 + shared 3 = 13 > 12 free on k');
    const superuser = liveBudget('k', pools, { user: 'app', database: 'db' }, limits(true), counts, 0.1);
    assert.deepEqual([superuser.level, superuser.usable], ['ok', 20]);
  });

  it("safety: other load-test runs' connections count, and a role's CONNECTION LIMIT too", () => {
    const demand = (f: ServerFacts, connections: number) => [
      {
        serverKey: '127.0.0.1:5432',
        host: '127.0.0.1',
        facts: [f],
        connectionsNeeded: connections + 1,
        pools: [{ name: 'project' as const, user: 'app', database: 'db', connections, facts: f }],
      },
    ];
    // max 30: 27 usable, margin 3. A first run's 12 agents are used by others for the second run.
    const quiet = facts({ maxConnections: 30 });
    assert.equal(checkLoadTestSafety(demand(quiet, 12), settingsDefaults).ok, true);
    const busy = facts({ maxConnections: 30, usedByOthers: 12 });
    const second = checkLoadTestSafety(demand(busy, 12), settingsDefaults);
    assert.equal(second.ok, false);
    assert.match(
      second.reasons[0]!,
      /where 15 of 27 usable slots are free and 3 must stay free .* so at most 12 \(12 held by other clients/,
    );
    const limited = checkLoadTestSafety(demand(facts({ roleLimit: 5 }), 8), settingsDefaults);
    assert.deepEqual(limited.reasons, [
      'it would hold 9 connections as role "app", whose CONNECTION LIMIT 5 leaves 5 (0 in use by others)',
    ]);
  });
});
