import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { capacityPlan } from '../../../server/src/core/capacity/capacityReport';
import { capacityView, serverBar } from '../../../server/src/core/dashboard/capacityBars';
import { settingsDefaults } from '../../../shared/settings';
import { bothPools, DEMO_LAYOUT, facts, LAYOUT_A, loadLayoutA, pgBouncerFacts } from '../testSupport';

const load = loadLayoutA;
const both = bothPools;
const DEMO = DEMO_LAYOUT;

describe('capacity bars', () => {
  it('splits max_connections 100 into reserved, others, each pool and free, with the headroom', async () => {
    const plan = capacityPlan(await load(LAYOUT_A), both(facts({ usedByOthers: 2 })), settingsDefaults);
    const bar = serverBar(plan.servers[0]!);
    assert.deepEqual(
      bar.segments.map((s) => [s.kind, s.label, s.slots]),
      [
        ['reserved', 'reserved (superuser_reserved_connections 3)', 3],
        ['others', 'used by other clients', 2],
        ['pool', 'project pool', 40],
        ['pool', 'shared pool', 15],
        ['free', 'free', 40],
      ],
    );
    // Every slot of max_connections is in exactly one segment.
    assert.equal(
      bar.segments.reduce((n, s) => n + s.slots, 0),
      100,
    );
    assert.equal(bar.limit, 100);
    assert.equal(bar.limitName, 'max_connections');
    // The budget's own headroom: 10% of the 97 usable slots, rounded up.
    assert.equal(bar.headroomSlots, plan.servers[0]!.budget.headroomSlots);
    assert.equal(bar.headroomSlots, 10);
    assert.equal(bar.usable, 97);
    assert.equal(bar.status, 'OK');
    assert.deepEqual(bar.verdict, ['OK: the pools fit; 40 slots stay free, 10 of them kept as headroom']);
  });

  it('draws what the pools need past the limit and carries the budget verdict and fixes (the demo)', async () => {
    const plan = capacityPlan(
      await load(DEMO),
      both(facts({ maxConnections: 20, usedByOthers: 1 })),
      settingsDefaults,
    );
    const view = capacityView(plan, 'demo/.claude-flow/config.yaml', new Date('2026-01-01T00:00:00Z'));
    const bar = view.bars[0]!;
    // 20 − 3 reserved − 1 other = 16 free: project takes them all, 24 + 3 more are needed past the limit.
    assert.deepEqual(
      bar.segments.map((s) => [s.kind, s.slots]),
      [
        ['reserved', 3],
        ['others', 1],
        ['pool', 16],
        ['over', 27],
      ],
    );
    assert.equal(bar.status, 'FAIL');
    assert.deepEqual(bar.verdict, plan.servers[0]!.statusReasons);
    assert.match(bar.verdict[0]!, /^project 40 \+ shared 3 = 43 > 16 free on db\.internal:5432/);
    assert.deepEqual(bar.remedies, plan.servers[0]!.remedies);
    assert.equal(view.targetAgents, 8);
    assert.equal(view.readAt, '2026-01-01T00:00:00.000Z');
    assert.deepEqual(view.planning, [
      'guaranteed capacity: 13 concurrent agents (project pool, what the servers can give now)',
      'burst capacity: 16 concurrent agents (project + shared, what the servers can give now)',
      'headroom: 63% above the 8-agent target (5 agents)',
      'server reserve on db.internal:5432: none, the pools need 27 more than the 16 free slots (max_connections 20)',
    ]);
  });

  it('judges a PgBouncer against max_client_conn, other clients first', async () => {
    const pooler = pgBouncerFacts({ maxClientConn: 50, otherClients: 4 });
    const plan = capacityPlan(await load(LAYOUT_A), both(facts({ pooler })), settingsDefaults);
    const view = capacityView(plan, 'x');
    const bar = view.bars.find((b) => b.kind === 'pooler')!;
    assert.equal(bar.limitName, 'max_client_conn');
    assert.equal(bar.limit, 50);
    assert.deepEqual(
      bar.segments.map((s) => [s.kind, s.slots]),
      [
        ['others', 4],
        ['pool', 40],
        ['pool', 6],
        ['over', 9],
      ],
    );
    assert.equal(bar.status, 'FAIL');
  });
});
