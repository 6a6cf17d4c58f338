import assert from 'node:assert/strict';
import { chmod, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { diagnose, type PoolOutcomes } from '../../../server/src/core/capacity/rules';
import { echoValue, redact, scrubberOf } from '../../../server/src/core/config/secretScrubber';
import { resolveConfig } from '../../../server/src/io/config/configFiles';
import { settingsDefaults } from '../../../shared/settings';

const settings = { ...settingsDefaults };

const configWith = (password: string, host = 'db.internal') => `memory:
  postgresql:
    project:
      host: ${host}
      database: app
      user: app
      password: ${password}
      poolSize: 5
`;

/** A probe failure whose driver message echoes the password (what a scrubber must catch). */
const failureEchoing = (secret: string): PoolOutcomes => ({
  project: {
    ok: false,
    failure: {
      class: 'other',
      message: `server said: bad login for "${secret}" via postgres://app:${secret}@db`,
    },
  },
});

describe('the secret scrubber', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'pool-capacity-scrub-'));
    await mkdir(join(dir, '.claude-flow'));
    await writeFile(join(dir, '.env'), 'DOTENV_DB_PASSWORD=from-dotenv-9911\n');
    await writeFile(join(dir, 'pgpass'), '*:*:*:app:from-pgpass-5522\n');
    await chmod(join(dir, 'pgpass'), 0o600);
  });
  after(() => rm(dir, { recursive: true, force: true }));
  const path = () => join(dir, '.claude-flow', 'config.yaml');

  it('an unquoted password starting with | or > is never quoted by the YAML error', async () => {
    for (const written of [
      '|s3cret-Block-42',
      '>s3cret-Block-42',
      '|-x s3cret-Block-42',
      '`s3cret-Block-42',
    ]) {
      const loaded = await resolveConfig(path(), configWith(written), { PGPASSFILE: '/nonexistent' });
      const found = diagnose(loaded, {}, settings);
      const syntax = found.filter((d) => d.code === 'yaml-syntax');
      assert.ok(syntax.length > 0, written);
      for (const d of found) assert.ok(!d.message.includes('s3cret-Block-42'), `${written}: ${d.message}`);
      assert.match(
        syntax[0]!.message,
        /the value of a password key is not valid YAML \(its text is not shown\)/,
      );
    }
  });

  it('knows the passwords of the config, the environment, .env and pgpass', async () => {
    const cases: [string, Record<string, string>, string][] = [
      ['written-in-config-7788', { PGPASSFILE: '/nonexistent' }, 'written-in-config-7788'],
      [
        '${APP_DB_PASSWORD}',
        { APP_DB_PASSWORD: 'from-environment-3344', PGPASSFILE: '/nonexistent' },
        'from-environment-3344',
      ],
      ['${DOTENV_DB_PASSWORD}', { PGPASSFILE: '/nonexistent' }, 'from-dotenv-9911'],
      ['""', { PGPASSFILE: join(dir, 'pgpass') }, 'from-pgpass-5522'],
    ];
    for (const [written, env, secret] of cases) {
      const loaded = await resolveConfig(path(), configWith(written), env);
      assert.equal(loaded.pools[0]!.target.password, secret, written);
      const found = diagnose(loaded, failureEchoing(secret), settings);
      const unreachable = found.find((d) => d.code === 'server-unreachable');
      assert.ok(unreachable, written);
      assert.ok(!unreachable.message.includes(secret), unreachable.message);
      assert.match(unreachable.message, /bad login for "\*\*\*" via postgres:\/\/app:\*\*\*@db/);
      assert.ok(!loaded.scrub(`x ${secret} y`).includes(secret));
    }
  });

  it('also removes password-like variables of the environment that no pool uses', async () => {
    const loaded = await resolveConfig(path(), configWith('x'), {
      UNRELATED_SERVICE_TOKEN: 'token-value-1234',
      PGPASSFILE: '/nonexistent',
    });
    assert.equal(loaded.scrub('saw token-value-1234'), 'saw ***');
  });

  it('removes the longest secret first, cuts long messages, and leaves short words alone', () => {
    const scrub = scrubberOf(['abcd', 'abcdefgh', 'a']);
    assert.equal(scrub('abcdefgh abcd a'), '*** *** a');
    assert.ok(scrub('z'.repeat(5000)).length <= 1001);
    assert.equal(redact('postgresql://u:p%40ss@h/db'), 'postgresql://u:***@h/db');
    assert.equal(echoValue('x'.repeat(150)), `"${'x'.repeat(100)}…" (150 characters)`);
    assert.equal(echoValue(42), '42');
  });
});

describe('secret-from-environment', () => {
  const env = {
    APP_DB_PASSWORD: 'pw-from-env-1',
    RUVECTOR_PASSWORD: 'pw-from-env-2',
    PGPASSFILE: '/nonexistent',
  };
  const notices = async (text: string, environment: Record<string, string>, trustedHosts: string[] = []) => {
    const loaded = await resolveConfig('/nowhere/.claude-flow/config.yaml', text, environment);
    return diagnose(loaded, {}, { ...settings, trustedHosts })
      .filter((d) => d.code === 'secret-from-environment')
      .map((d) => [d.severity, d.message]);
  };

  it('a password from ${VAR} or the origin variables going to a host the config chose', async () => {
    assert.deepEqual(await notices(configWith('${APP_DB_PASSWORD}'), env), [
      [
        'information',
        'project: the password from ${APP_DB_PASSWORD} will be sent to db.internal:5432, a host this config chooses; if it is yours, add "db.internal" to poolCapacity.trustedHosts',
      ],
    ]);
    const fromOrigin = await notices(configWith('').replace('      password: \n', ''), env);
    assert.match(String(fromOrigin[0]?.[1]), /the password from \$\{RUVECTOR_PASSWORD\}/);
  });

  it('no notice for a confirmed host, loopback, or a password written in the config', async () => {
    assert.deepEqual(await notices(configWith('${APP_DB_PASSWORD}'), env, ['db.internal']), []);
    assert.deepEqual(await notices(configWith('${APP_DB_PASSWORD}', '127.0.0.1'), env), []);
    assert.deepEqual(await notices(configWith('${APP_DB_PASSWORD}', 'localhost'), env), []);
    assert.deepEqual(await notices(configWith('written-here'), env), []);
  });
});
