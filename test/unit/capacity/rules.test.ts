import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { diagnose, type PoolOutcomes } from '../../../server/src/capacity/rules';
import { resolveConfig } from '../../../server/src/config/loadConfig';
import { type PoolCapacitySettings, settingsDefaults } from '../../../shared/settings';
import { facts, LAYOUT_A, rangeOf } from '../testSupport';

const settings: PoolCapacitySettings = { ...settingsDefaults };
const env = { DPG_CLUSTER_PASSWORD: 's3cret-project', SHARED_DB_PASSWORD: 's3cret-shared' };

async function findings(
  text: string,
  outcomes: PoolOutcomes = {},
  overrides: Partial<PoolCapacitySettings> = {},
) {
  const config = await resolveConfig('/nowhere/.claude-flow/config.yaml', text, env, {
    ...settings,
    ...overrides,
  });
  return diagnose(config, outcomes, { ...settings, ...overrides });
}

const both = (f: ReturnType<typeof facts>): PoolOutcomes => ({
  project: { ok: true, facts: f },
  shared: { ok: true, facts: f },
});

describe('config rules (no server)', () => {
  it('a sound config with no server facts has no findings', async () => {
    assert.deepEqual(await findings(LAYOUT_A), []);
  });

  it('invalid-pool-size on the value, for every kind of wrong value', async () => {
    for (const bad of ['0', '-3', '2.5', 'forty', '[1, 2]', '"12a"']) {
      const text = LAYOUT_A.replace('poolSize: 15', `poolSize: ${bad}`);
      const found = await findings(text);
      assert.equal(found.length, 1, `${bad}: ${JSON.stringify(found)}`);
      assert.equal(found[0]!.code, 'invalid-pool-size');
      assert.equal(found[0]!.severity, 'error');
      const start = text.indexOf(`poolSize: ${bad}`) + 'poolSize: '.length;
      assert.deepEqual(found[0]!.range, { start, end: start + bad.length }, bad);
      assert.match(found[0]!.message, /^shared: poolSize must be a whole number of at least 1/);
    }
  });

  it('reads a pool size given through ${VAR} and ${VAR:-default}', async () => {
    const text = LAYOUT_A.replace('poolSize: 15', 'poolSize: ${SHARED_POOL:-12}');
    const config = await resolveConfig('/x/.claude-flow/config.yaml', text, env);
    assert.equal(config.pools[1]!.poolSize, 12);
    const overridden = await resolveConfig('/x/.claude-flow/config.yaml', text, { ...env, SHARED_POOL: '7' });
    assert.equal(overridden.pools[1]!.poolSize, 7);
  });

  it('min larger than max is an error on the min', async () => {
    const text = 'memory:\n  postgresql:\n    patroni:\n      minConnections: 30\n      maxConnections: 20\n';
    const found = await findings(text);
    assert.deepEqual(found, [
      {
        code: 'invalid-pool-size',
        severity: 'error',
        message: 'patroni: minConnections 30 is larger than maxConnections 20',
        range: rangeOf(text, '30'),
        pool: 'patroni',
      },
    ]);
  });

  it('yaml-syntax at the error', async () => {
    const text =
      'memory:\n  postgresql:\n    project:\n      poolSize: 40\n    shared: {poolSize: 3\nswarm:\n  maxAgents: 4\n';
    const found = await findings(text);
    const syntax = found.filter((d) => d.code === 'yaml-syntax');
    assert.ok(syntax.length >= 1);
    assert.equal(syntax[0]!.severity, 'error');
    // The parser finds the unclosed flow mapping broken at the end of its entry: the last character
    // written in it, not the next entry's key.
    assert.deepEqual(syntax[0]!.range, {
      start: text.indexOf('3\nswarm'),
      end: text.indexOf('3\nswarm') + 1,
    });
  });

  it('pool-below-target on the project pool, with the target from swarm.maxAgents', async () => {
    const text = LAYOUT_A.replace('poolSize: 40', 'poolSize: 20');
    const found = await findings(text);
    assert.equal(found.length, 1);
    assert.equal(found[0]!.code, 'pool-below-target');
    assert.equal(found[0]!.severity, 'warning');
    assert.deepEqual(found[0]!.range, rangeOf(text, '20', 0));
    assert.match(
      found[0]!.message,
      /poolSize 20 is smaller than the 35 concurrent agents of swarm\.maxAgents/,
    );
    // Without server facts nobody knows the target fits, so no quick fix is offered.
    assert.deepEqual(found[0]!.fixes, []);
  });

  it('offers "Set poolSize to the target" where the server is known to fit it', async () => {
    const text = LAYOUT_A.replace('poolSize: 40', 'poolSize: 20');
    const found = await findings(text, both(facts()));
    const below = found.find((d) => d.code === 'pool-below-target')!;
    assert.deepEqual(below.fixes, [
      { title: 'Set poolSize to the target (35)', range: rangeOf(text, '20', 0), newSize: 35 },
    ]);
  });

  it('unresolved-variable where ${VAR} is set nowhere', async () => {
    const config = await resolveConfig('/x/.claude-flow/config.yaml', LAYOUT_A, {});
    const found = diagnose(config, {}, settings);
    assert.deepEqual(
      found.map((d) => [d.code, d.pool, d.range]),
      [
        ['unresolved-variable', 'project', rangeOf(LAYOUT_A, '${DPG_CLUSTER_PASSWORD}')],
        ['unresolved-variable', 'shared', rangeOf(LAYOUT_A, '${SHARED_DB_PASSWORD}')],
      ],
    );
  });
});

describe('capacity rules (with server facts)', () => {
  it('pool-exceeds-server on every pool sharing the server, with the numbers', async () => {
    const outcomes = both(facts({ maxConnections: 50, usedByOthers: 5 }));
    const found = await findings(LAYOUT_A, outcomes);
    const errors = found.filter((d) => d.code === 'pool-exceeds-server');
    assert.deepEqual(
      errors.map((d) => [d.pool, d.range]),
      [
        ['project', rangeOf(LAYOUT_A, '40')],
        ['shared', rangeOf(LAYOUT_A, '15')],
      ],
    );
    assert.equal(
      errors[0]!.message,
      'project: the pools on db.internal:5432 need 55 connections (project 40 + shared 15) but the server can give 42 now: max_connections 50 − 3 reserved − 5 used by others = 42 free for this role',
    );
    // 42 free, 10% of 47 usable = 5 kept: 37 to split 40:15.
    assert.deepEqual(errors[0]!.fixes, [
      { title: 'Set poolSize to 26', range: rangeOf(LAYOUT_A, '40'), newSize: 26 },
    ]);
    assert.deepEqual(errors[1]!.fixes, [
      { title: 'Set poolSize to 10', range: rangeOf(LAYOUT_A, '15'), newSize: 10 },
    ]);
    for (const d of found) assert.doesNotMatch(d.message, /s3cret/);
  });

  it('low-headroom when the pools fit but leave less than the threshold', async () => {
    // 100 - 3 = 97 usable, 35 used by others: 62 free; 55 leaves 7 < ceil(9.7) = 10.
    const found = await findings(LAYOUT_A, both(facts({ usedByOthers: 35 })));
    assert.deepEqual(
      found.map((d) => [d.code, d.severity, d.range]),
      [
        ['low-headroom', 'warning', rangeOf(LAYOUT_A, '40')],
        ['low-headroom', 'warning', rangeOf(LAYOUT_A, '15')],
      ],
    );
    assert.match(found[0]!.message, /leave 7 of 97 usable slots free, less than the 10% headroom \(10\)/);
  });

  it('nothing when the pools fit with headroom', async () => {
    assert.deepEqual(await findings(LAYOUT_A, both(facts())), []);
  });

  it('a superuser role may use the reserved slots', async () => {
    const found = await findings(LAYOUT_A, both(facts({ maxConnections: 58, isSuperuser: true })));
    assert.deepEqual(
      found.map((d) => d.code),
      ['low-headroom', 'low-headroom'],
    );
  });

  it('pool-exceeds-role-limit and pool-exceeds-database-limit on the pools of that role or database', async () => {
    const outcomes: PoolOutcomes = {
      project: { ok: true, facts: facts({ roleLimit: 30, roleInUse: 2 }) },
      shared: { ok: true, facts: facts({ databaseLimit: 10 }) },
    };
    const found = await findings(LAYOUT_A, outcomes);
    assert.deepEqual(
      found.map((d) => [d.code, d.pool, d.range]),
      [
        ['pool-exceeds-role-limit', 'project', rangeOf(LAYOUT_A, '40')],
        ['pool-exceeds-database-limit', 'shared', rangeOf(LAYOUT_A, '15')],
      ],
    );
    assert.equal(
      found[0]!.message,
      'project: role "dpg_cluster" has CONNECTION LIMIT 30 with 2 in use by others, so 28 are left, but its pools need 40 (project 40)',
    );
    assert.ok(found[0]!.fixes![0]!.newSize <= 28);
    assert.ok(found[1]!.fixes![0]!.newSize <= 10);
  });

  it('server-unreachable on the pool key, password-free, and the other pool is still judged', async () => {
    const text = LAYOUT_A.replace(
      'host: db.internal\n      port: 5432\n      database: claude_flow_shared',
      'host: other.internal\n      port: 5432\n      database: claude_flow_shared',
    );
    const outcomes: PoolOutcomes = {
      project: {
        ok: false,
        failure: {
          class: 'authentication',
          code: '28P01',
          message: 'password authentication failed for user "dpg_cluster"',
        },
      },
      shared: { ok: true, facts: facts({ maxConnections: 10 }) },
    };
    const found = await findings(text, outcomes);
    assert.deepEqual(
      found.map((d) => [d.code, d.severity, d.range]),
      [
        ['server-unreachable', 'warning', rangeOf(text, 'project')],
        ['pool-exceeds-server', 'error', rangeOf(text, '15')],
      ],
    );
    assert.equal(
      found[0]!.message,
      'project: cannot connect to dpg_cluster@db.internal:5432/distributed_postgres_cluster: authentication failed (password authentication failed for user "dpg_cluster")',
    );
  });

  it('judges a server only once every pool on it has answered', async () => {
    const partial = await findings(LAYOUT_A, { project: { ok: true, facts: facts({ maxConnections: 30 }) } });
    assert.deepEqual(partial, []);
    const whole = await findings(LAYOUT_A, both(facts({ maxConnections: 30 })));
    assert.deepEqual(
      whole.map((d) => d.code),
      ['pool-exceeds-server', 'pool-exceeds-server'],
    );
  });

  it('pools on different servers are judged separately', async () => {
    const text = LAYOUT_A.replace(
      'host: db.internal\n      port: 5432\n      database: claude_flow_shared',
      'host: db.internal\n      port: 6543\n      database: claude_flow_shared',
    );
    // Each server alone fits 40 or 15 in 43 usable slots; together (55) they would not.
    const found = await findings(text, both(facts({ maxConnections: 46 })));
    assert.deepEqual(
      found.map((d) => d.code),
      ['low-headroom'],
    );
    assert.equal(found[0]!.pool, 'project');
  });
});
