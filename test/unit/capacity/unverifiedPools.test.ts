import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { diagnose, type PoolOutcomes } from '../../../server/src/core/capacity/rules';
import {
  poolVerifications,
  unverifiedDiagnostics,
  unverifiedHoverLine,
} from '../../../server/src/core/capacity/unverifiedPools';
import {
  blockingProblems,
  brokenConfigMessage,
  probedPools,
} from '../../../server/src/core/config/loadedConfig';
import { resolveConfig } from '../../../server/src/io/config/configFiles';
import { settingsDefaults } from '../../../shared/settings';
import { facts, rangeOf } from '../testSupport';

const env = { PGPASSFILE: '/nonexistent/pgpass' };
const load = (text: string) => resolveConfig('/nowhere/.claude-flow/config.yaml', text, env);

const TWO_POOLS = `memory:
  postgresql:
    project:
      host: db.internal
      port: 5433
      database: appdb
      user: app
      poolSize: 10
    shared:
      host: db.internal
      port: 5433
      database: shared_db
      user: app
      poolSize: 5
swarm:
  maxAgents: 8
`;

describe('broken config is reported, not guessed', () => {
  it('a pool whose keys the parser loses is not probed (no libpq defaults)', async () => {
    // The unclosed flow sequence makes the parser lose the project pool's keys after it.
    const text = TWO_POOLS.replace(
      '      host: db.internal\n      port: 5433\n      database: appdb',
      '      poolSize: [oops\n      host: db.internal\n      port: 5433\n      database: appdb',
    ).replace('      poolSize: 10\n', '');
    const config = await load(text);
    assert.ok(config.document.syntaxErrors.length > 0);
    assert.ok(!probedPools(config).some((p) => p.name === 'project'), 'project must not be probed');
    const project = poolVerifications(config, {}).find((p) => p.name === 'project')!;
    assert.equal(project.verified, false);
    assert.equal(project.reason, 'yaml-syntax');
    // The error is the first thing reported for report and test.
    assert.equal(blockingProblems(config)[0]!.code, 'yaml-syntax');
  });

  it('poolSize: [oops at the end of a pool keeps that pool (and its neighbour at the error) unprobed', async () => {
    const text = TWO_POOLS.replace('poolSize: 10', 'poolSize: [oops');
    const config = await load(text);
    assert.ok(config.document.syntaxErrors.length > 0);
    const probed = probedPools(config).map((p) => p.name);
    assert.ok(!probed.includes('project'), JSON.stringify(probed));
    const found = diagnose(config, {}, settingsDefaults);
    assert.equal(found[0]!.code, 'yaml-syntax');
    assert.equal(poolVerifications(config, {})[0]!.reason, 'yaml-syntax');
  });

  it('a syntax error outside the pools leaves them probed', async () => {
    const config = await load(`${TWO_POOLS}other: [unclosed\n`);
    assert.ok(config.document.syntaxErrors.length > 0);
    assert.deepEqual(
      probedPools(config).map((p) => p.name),
      ['project', 'shared'],
    );
  });

  for (const [key, value, kind] of [
    ['host', '{a: 1}', 'a mapping'],
    ['host', '[db1, db2]', 'a list'],
    ['port', '[5432]', 'a list'],
    ['user', '{name: app}', 'a mapping'],
    ['database', 'true', 'true/false'],
  ] as const) {
    it(`${key}: ${value} is invalid-connection-setting, never looked up, not probed`, async () => {
      const text = TWO_POOLS.replace(
        key === 'host'
          ? 'host: db.internal'
          : key === 'port'
            ? 'port: 5433'
            : key === 'user'
              ? 'user: app'
              : 'database: appdb',
        `${key}: ${value}`,
      );
      const config = await load(text);
      const project = config.pools[0]!;
      assert.ok(!JSON.stringify(project.target).includes('[object Object]'));
      assert.deepEqual(
        project.resolution.problems.map((p) => p.message),
        [`${key} must be a single text value, not ${kind}`],
      );
      assert.deepEqual(project.resolution.problems[0]!.range, rangeOf(text, value));
      assert.deepEqual(
        probedPools(config).map((p) => p.name),
        ['shared'],
      );
      const found = diagnose(config, {}, settingsDefaults);
      assert.deepEqual(
        found.map((d) => [d.code, d.severity]),
        [['invalid-connection-setting', 'error']],
      );
      assert.equal(found[0]!.message, `project: ${key} must be a single text value, not ${kind}`);
      const verification = poolVerifications(config, {}).find((p) => p.name === 'project')!;
      assert.deepEqual([verification.verified, verification.reason], [false, 'invalid-connection-setting']);
    });
  }

  it('numbers are fine where libpq takes text (a numeric user, a port)', async () => {
    const config = await load(TWO_POOLS.replace('user: app', 'user: 1234'));
    assert.equal(config.pools[0]!.target.user, '1234');
    assert.equal(config.pools[0]!.target.port, 5433);
    assert.deepEqual(config.pools[0]!.resolution.problems, []);
  });
});

describe('poolVerifications and the unverified codes', () => {
  it('says per pool whether it was judged and why not, with the diagnostic of the same code', async () => {
    const config = await load(TWO_POOLS);
    const outcomes: PoolOutcomes = {
      project: {
        ok: false,
        failure: { class: 'too-many-clients', code: '53300', message: 'sorry, too many clients already' },
      },
      shared: { ok: true, facts: facts() },
    };
    assert.deepEqual(poolVerifications(config, outcomes), [
      {
        name: 'project',
        server: 'app@db.internal:5433/appdb',
        verified: false,
        reason: 'server-full',
        message:
          'project: cannot connect to app@db.internal:5433/appdb: server refusal 53300: too many clients (53300: sorry, too many clients already)',
      },
      { name: 'shared', server: 'app@db.internal:5433/shared_db', verified: true },
    ]);
    const found = unverifiedDiagnostics(config, outcomes);
    assert.deepEqual(
      found.map((d) => [d.code, d.severity, d.range, d.message]),
      [
        [
          'server-full',
          'warning',
          rangeOf(TWO_POOLS, 'project'),
          'project: cannot connect to app@db.internal:5433/appdb: server refusal 53300: too many clients (53300: sorry, too many clients already)',
        ],
      ],
    );
  });

  it('patroni is checked for validity only and is not listed', async () => {
    const config = await load(
      'memory:\n  postgresql:\n    patroni:\n      hosts: [a, b]\n      maxConnections: 20\n',
    );
    assert.deepEqual(poolVerifications(config, {}), []);
  });

  it('the hover says the same as the diagnostic, and why a pool was not probed', async () => {
    const config = await load(TWO_POOLS);
    const outcomes: PoolOutcomes = {
      project: {
        ok: false,
        failure: {
          class: 'authentication',
          code: '28P01',
          message: 'password authentication failed for user "app"',
        },
      },
    };
    assert.equal(
      unverifiedHoverLine(config, config.pools[0]!, outcomes),
      'Not verified (`auth-failed`): cannot connect to app@db.internal:5433/appdb: authentication failed (28P01: password authentication failed for user "app")',
    );
    assert.equal(unverifiedHoverLine(config, config.pools[1]!, outcomes), 'Reading the server…');
    const broken = await load(TWO_POOLS.replace('host: db.internal', 'host: [a, b]'));
    assert.equal(
      unverifiedHoverLine(broken, broken.pools[0]!, {}),
      'Not verified (`invalid-connection-setting`): not probed: host must be a single text value, not a list',
    );
  });
});

describe("brokenConfigMessage (the editor's load test and report)", () => {
  it('names the first problem with its line and column, and nothing for a sound config', async () => {
    assert.equal(brokenConfigMessage(await load(TWO_POOLS)), undefined);
    const config = await load(TWO_POOLS.replace('port: 5433', 'port: {n: 1}'));
    assert.equal(
      brokenConfigMessage(config),
      'The config has an unusable connection setting to fix first, at line 5, column 13: project: port must be a single text value, not a mapping. Nothing was connected to.',
    );
  });
});
