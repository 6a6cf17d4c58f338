import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { capacityPlan, formatCapacityReport } from '../../../server/src/loadtest/capacityReport';
import { facts } from '../testSupport';

const target = (user: string, database: string) => ({
  host: 'localhost',
  port: 5432,
  user,
  database,
  password: 'pw',
});
const project = {
  name: 'project' as const,
  poolSize: 40,
  minSize: 2,
  target: target('dpg_cluster', 'distributed_postgres_cluster'),
};
const shared = {
  name: 'shared' as const,
  poolSize: 15,
  minSize: 1,
  target: target('shared_user', 'claude_flow_shared'),
};

describe('capacityPlan', () => {
  it("reproduces the predecessor's planning numbers (40 + 15 on max_connections 100, target 35)", () => {
    const plan = capacityPlan(
      [
        { pool: project, facts: facts({ usedByOthers: 3 }) },
        { pool: shared, facts: facts({ usedByOthers: 3 }) },
      ],
      35,
      { headroomThreshold: 0.1 },
    );
    assert.equal(plan.guaranteedCapacity, 40);
    assert.equal(plan.burstCapacity, 55);
    assert.equal(plan.headroomAgents, 5);
    assert.equal(Math.round(plan.headroomRatio * 100), 14);
    assert.equal(plan.servers.length, 1);
    assert.equal(plan.servers[0]!.reserve, 45);
    assert.equal(plan.servers[0]!.budget.freeAfter, 97 - 3 - 55);
    assert.equal(plan.servers[0]!.status, 'OK');

    const lines = formatCapacityReport(plan).split('\n');
    assert.deepEqual(
      lines.filter((l) => l.startsWith('Planning')),
      [
        'Planning  guaranteed capacity: 40 concurrent agents (project pool)',
        'Planning  burst capacity: 55 concurrent agents (project + shared)',
        'Planning  headroom: 14% above the 35-agent target (5 agents)',
        'Planning  server reserve on localhost:5432: 45 of max_connections 100 after the pools (39 of them free now, after reserved slots and other clients)',
      ],
    );
    assert.ok(
      lines.includes(
        "Server    max_connections 100, superuser_reserved_connections 3 -> 97 usable by the pools' roles",
      ),
    );
  });

  it('warns inside the headroom, fails past the free slots, and reports a shortfall', () => {
    const tight = capacityPlan([{ pool: project, facts: facts({ maxConnections: 46 }) }], 45, {
      headroomThreshold: 0.1,
    });
    assert.equal(tight.servers[0]!.status, 'WARN');
    assert.match(
      formatCapacityReport(tight),
      /Planning {2}headroom: none, 5 agents short of the 45-agent target \(-11%\)/,
    );
    const full = capacityPlan([{ pool: project, facts: facts({ maxConnections: 40 }) }], 35, {
      headroomThreshold: 0.1,
    });
    assert.equal(full.servers[0]!.status, 'FAIL');
  });

  it('lists unreachable pools without failing the plan', () => {
    const plan = capacityPlan(
      [
        { pool: project, facts: facts() },
        {
          pool: shared,
          failure: {
            class: 'authentication',
            code: '28P01',
            message: 'password authentication failed for user "shared_user"',
          },
        },
      ],
      35,
      { headroomThreshold: 0.1 },
    );
    assert.equal(plan.unreachable.length, 1);
    assert.match(
      formatCapacityReport(plan),
      /^Error {5}shared pool shared_user@localhost:5432\/claude_flow_shared: authentication failed: password authentication failed/m,
    );
  });
});
