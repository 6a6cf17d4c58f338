import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { diagnose, type PoolOutcomes } from '../../../server/src/core/capacity/rules';
import { resolveConfig } from '../../../server/src/io/config/configFiles';
import { type PoolCapacitySettings, settingsDefaults } from '../../../shared/settings';
import { bothPools, facts, LAYOUT_A, rangeOf } from '../testSupport';

// The fixtures' hosts are confirmed, so the secret-from-environment notice stays out of these findings.
const settings: PoolCapacitySettings = {
  ...settingsDefaults,
  trustedHosts: ['db.internal', 'other.internal'],
};
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

const both = bothPools;

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

  it('reports a ${VAR} pool size by its value, read with the same variables as the size', async () => {
    const text = LAYOUT_A.replace('poolSize: 15', 'poolSize: ${SHARED_POOL}');
    const config = await resolveConfig('/x/.claude-flow/config.yaml', text, { ...env, SHARED_POOL: 'abc' });
    const found = diagnose(config, {}, settings).filter((d) => d.code === 'invalid-pool-size');
    assert.deepEqual(
      found.map((d) => [d.message, d.range]),
      [['shared: poolSize must be a whole number of at least 1, not "abc"', rangeOf(text, '${SHARED_POOL}')]],
    );
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
  it('pool-exceeds-server on the pools whose reduction can clear it, figures first, the rest related', async () => {
    const outcomes = both(facts({ maxConnections: 50, usedByOthers: 5 }));
    const found = await findings(LAYOUT_A, outcomes);
    const errors = found.filter((d) => d.code === 'pool-exceeds-server');
    // 42 free, 10% of 47 usable = 5 kept: 37 for both. shared alone cannot make room (40 > 37), so
    // the error sits on project only and shared is related information.
    assert.deepEqual(
      errors.map((d) => [d.pool, d.range]),
      [['project', rangeOf(LAYOUT_A, '40')]],
    );
    assert.equal(
      errors[0]!.message,
      'project 40 + shared 15 = 55 > 42 free on db.internal:5432: max_connections 50 − 3 reserved − 5 used by others = 42 free for this role; 5 stay free as headroom (of 47 usable). project fits at 22 or less with shared as it is.',
    );
    assert.ok(errors[0]!.message.slice(0, 80).includes('55 > 42 free on db.internal:5432'));
    assert.deepEqual(errors[0]!.related, [
      {
        range: rangeOf(LAYOUT_A, '15'),
        message: 'shared 15 counts in the same sum; reducing it alone cannot clear it',
      },
    ]);
    // 37 - 15 = 22 with shared as it is; all resized in proportion: 37 x 40/55 = 26, 37 x 15/55 = 10.
    assert.deepEqual(errors[0]!.fixes, [
      {
        title: 'Set poolSize to 22 (below the 35-agent target)',
        range: rangeOf(LAYOUT_A, '40'),
        newSize: 22,
      },
      {
        title: 'Resize all pools on this server (project 26, shared 10) (below the 35-agent target)',
        range: rangeOf(LAYOUT_A, '40'),
        newSize: 26,
        alsoEdits: [{ pool: 'shared', range: rangeOf(LAYOUT_A, '15'), newSize: 10 }],
      },
    ]);
    for (const d of found) assert.doesNotMatch(d.message, /s3cret/);
  });

  it('every offered fix, applied alone, clears the finding and adds no capacity finding', async () => {
    const cases: [string, PoolOutcomes][] = [
      ['exceeds', both(facts({ maxConnections: 50, usedByOthers: 5 }))],
      ['low headroom', both(facts({ usedByOthers: 35 }))],
      [
        'role and database limits',
        {
          project: { ok: true, facts: facts({ roleLimit: 30, roleInUse: 2 }) },
          shared: { ok: true, facts: facts({ databaseLimit: 10 }) },
        },
      ],
    ];
    const capacity = (d: { code: string }) =>
      d.code !== 'pool-below-target' && /pool-exceeds|low-headroom/.test(d.code);
    for (const [label, outcomes] of cases) {
      const before = (await findings(LAYOUT_A, outcomes)).filter(capacity);
      assert.ok(before.length > 0, label);
      for (const finding of before) {
        for (const fix of finding.fixes ?? []) {
          let text = LAYOUT_A;
          const edits = [fix, ...(fix.alsoEdits ?? [])].sort((a, b) => b.range.start - a.range.start);
          for (const e of edits) text = text.slice(0, e.range.start) + e.newSize + text.slice(e.range.end);
          const after = (await findings(text, outcomes)).filter(capacity);
          const key = (d: { code: string; pool?: string }) => `${d.code}:${d.pool}`;
          assert.ok(
            !after.some((d) => key(d) === key(finding)),
            `${label}: "${fix.title}" left ${key(finding)}: ${after.map((d) => d.message).join(' | ')}`,
          );
          const known = new Set(before.map(key));
          assert.deepEqual(
            after.filter((d) => !known.has(key(d))).map(key),
            [],
            `${label}: "${fix.title}" added findings`,
          );
        }
      }
    }
  });

  it('low-headroom when the pools fit but leave less than the threshold', async () => {
    // 100 - 3 = 97 usable, 35 used by others: 62 free; 55 leaves 7 < ceil(9.7) = 10.
    const found = await findings(LAYOUT_A, both(facts({ usedByOthers: 35 })));
    assert.deepEqual(
      found.map((d) => [d.code, d.severity, d.range, d.fixes?.[0]?.newSize]),
      [
        ['low-headroom', 'warning', rangeOf(LAYOUT_A, '40'), 37],
        ['low-headroom', 'warning', rangeOf(LAYOUT_A, '15'), 12],
      ],
    );
    assert.match(
      found[0]!.message,
      /^project 40 \+ shared 15 = 55 leaves 7 of 62 free on db\.internal:5432, under the headroom of 10: /,
    );
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
      found.map((d) => [d.code, d.pool, d.range, d.fixes?.[0]?.newSize]),
      [
        ['pool-exceeds-role-limit', 'project', rangeOf(LAYOUT_A, '40'), 28],
        ['pool-exceeds-database-limit', 'shared', rangeOf(LAYOUT_A, '15'), 10],
      ],
    );
    assert.equal(
      found[0]!.message,
      'project 40 > 28 left of role "dpg_cluster" CONNECTION LIMIT 30: 30 − 2 used by others = 28. project fits at 28 or less.',
    );
  });

  it('auth-failed on the pool key, password-free, and the other pool is still judged', async () => {
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
        ['auth-failed', 'warning', rangeOf(text, 'project')],
        ['pool-exceeds-server', 'error', rangeOf(text, '15')],
      ],
    );
    assert.equal(
      found[0]!.message,
      'project: cannot connect to dpg_cluster@db.internal:5432/distributed_postgres_cluster: authentication failed (28P01: password authentication failed for user "dpg_cluster")',
    );
  });

  it('judges a server only once every pool on it has answered', async () => {
    const partial = await findings(LAYOUT_A, { project: { ok: true, facts: facts({ maxConnections: 30 }) } });
    assert.deepEqual(partial, []);
    const whole = await findings(LAYOUT_A, both(facts({ maxConnections: 30 })));
    assert.deepEqual(
      whole.map((d) => [d.code, d.pool]),
      [['pool-exceeds-server', 'project']],
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
