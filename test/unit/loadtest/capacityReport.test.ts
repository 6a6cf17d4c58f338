import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { capacityPlan, formatCapacityReport } from '../../../server/src/core/capacity/capacityReport';
import { diagnose } from '../../../server/src/core/capacity/rules';
import { settingsDefaults } from '../../../shared/settings';
import { bothPools, DEMO_LAYOUT, facts, LAYOUT_A, loadLayoutA, pgBouncerFacts } from '../testSupport';

const load = loadLayoutA;
const both = bothPools;
const DEMO = DEMO_LAYOUT;

describe('capacityPlan', () => {
  it("reproduces the origin's planning numbers (40 + 15 on max_connections 100, target 35)", async () => {
    const plan = capacityPlan(await load(LAYOUT_A), both(facts({ usedByOthers: 3 })), settingsDefaults);
    assert.equal(plan.guaranteedCapacity, 40);
    assert.equal(plan.burstCapacity, 55);
    assert.equal(plan.headroomAgents, 5);
    assert.equal(Math.round(plan.headroomRatio * 100), 14);
    assert.equal(plan.servers.length, 1);
    assert.equal(plan.servers[0]!.reserve, 39);
    assert.equal(plan.servers[0]!.status, 'OK');

    const lines = formatCapacityReport(plan).split('\n');
    assert.deepEqual(
      lines.filter((l) => l.startsWith('Planning') || l.startsWith('Budget')),
      [
        'Budget   OK  the pools fit and 10 slots stay free as headroom',
        'Planning guaranteed capacity: 40 concurrent agents (project pool, what the servers can give now)',
        'Planning burst capacity: 55 concurrent agents (project + shared, what the servers can give now)',
        'Planning headroom: 14% above the 35-agent target (5 agents)',
        'Planning server reserve on db.internal:5432: 39 of 94 free slots stay free after the pools (max_connections 100)',
      ],
    );
    assert.ok(
      lines.includes(
        "Server   max_connections 100, superuser_reserved_connections 3 -> 97 usable by the pools' roles",
      ),
    );
  });

  it('a failing budget: what the server gives now, by how much it fails and what fixes it (the demo)', async () => {
    const config = await load(DEMO);
    const outcomes = both(facts({ maxConnections: 20, usedByOthers: 1 }));
    const plan = capacityPlan(config, outcomes, settingsDefaults);
    assert.equal(plan.servers[0]!.status, 'FAIL');
    const lines = formatCapacityReport(plan).split('\n');
    assert.deepEqual(
      lines.filter((l) => /^(Budget|Fix|Planning)/.test(l)),
      [
        'Budget   FAIL  project 40 + shared 3 = 43 > 16 free on db.internal:5432 (29 over with the headroom)',
        'Fix      project poolSize 11 (shared as now)',
        'Fix      all pools resized: project 13, shared 1',
        'Fix      ALTER SYSTEM SET max_connections = 52; then restart PostgreSQL (a reload does not apply it)',
        // project can get 13 while shared holds its 3; both together the 16 free slots, never more.
        'Planning guaranteed capacity: 13 concurrent agents (project pool, what the servers can give now)',
        'Planning burst capacity: 16 concurrent agents (project + shared, what the servers can give now)',
        'Planning headroom: 63% above the 8-agent target (5 agents)',
        'Planning server reserve on db.internal:5432: none, the pools need 27 more than the 16 free slots (max_connections 20)',
      ],
    );
    // The report and the diagnostics render one budget: the same sum, the same fix.
    const error = diagnose(config, outcomes, settingsDefaults).find((d) => d.code === 'pool-exceeds-server')!;
    assert.ok(error.message.startsWith('project 40 + shared 3 = 43 > 16 free on db.internal:5432'));
    assert.equal(error.fixes![0]!.newSize, 11);
  });

  it('warns inside the headroom and names the role limit that fails', async () => {
    const single = LAYOUT_A.replace(/ {4}shared:[\s\S]*?poolSize: 15\n/, '');
    const tight = capacityPlan(
      await load(single),
      { project: { ok: true, facts: facts({ maxConnections: 46 }) } },
      settingsDefaults,
    );
    assert.equal(tight.servers[0]!.status, 'WARN');
    const limited = capacityPlan(
      await load(single),
      { project: { ok: true, facts: facts({ roleLimit: 30, roleInUse: 2 }) } },
      settingsDefaults,
    );
    assert.equal(limited.servers[0]!.status, 'FAIL');
    assert.equal(limited.guaranteedCapacity, 28);
    const text = formatCapacityReport(limited);
    assert.match(
      text,
      /^Budget {3}FAIL {2}project 40 > 28 left of role "dpg_cluster" CONNECTION LIMIT 30 \(12 over\)$/m,
    );
    assert.match(text, /^Fix {6}ALTER ROLE "dpg_cluster" CONNECTION LIMIT 42$/m);
  });

  it('behind PgBouncer the report judges max_client_conn, as the diagnostics do', async () => {
    const pooler = pgBouncerFacts({ maxClientConn: 50, otherClients: 4 });
    const config = await load(LAYOUT_A);
    // PostgreSQL alone (max_connections 100) would take 55; PgBouncer's 46 free client slots do not.
    const outcomes = both(facts({ pooler }));
    const plan = capacityPlan(config, outcomes, settingsDefaults);
    assert.deepEqual(plan.servers, []);
    assert.equal(plan.poolers[0]!.status, 'FAIL');
    assert.equal(plan.burstCapacity, 46);
    const text = formatCapacityReport(plan);
    assert.match(
      text,
      /^Budget {3}FAIL {2}project 40 \+ shared 15 = 55 > 46 client slots free on PgBouncer db\.internal:5432/m,
    );
    assert.match(text, /^Fix {6}max_client_conn = 66 in pgbouncer\.ini, then reload PgBouncer$/m);
    const codes = diagnose(config, outcomes, settingsDefaults).map((d) => d.code);
    assert.ok(codes.includes('pool-exceeds-pooler'), codes.join());
  });

  it('lists unreachable pools without failing the plan', async () => {
    const plan = capacityPlan(
      await load(
        LAYOUT_A.replace(
          'port: 5432\n      database: claude_flow_shared',
          'port: 5999\n      database: claude_flow_shared',
        ),
      ),
      {
        project: { ok: true, facts: facts() },
        shared: {
          ok: false,
          failure: {
            class: 'authentication',
            code: '28P01',
            message: 'password authentication failed for user "shared_user"',
          },
        },
      },
      settingsDefaults,
    );
    assert.equal(plan.unreachable.length, 1);
    assert.match(
      formatCapacityReport(plan),
      /^Error {4}shared pool shared_user@db\.internal:5999\/claude_flow_shared: authentication failed: password authentication failed/m,
    );
  });
});
