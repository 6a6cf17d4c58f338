import assert from 'node:assert/strict';
import { chmod, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { parseConfigDocument } from '../../../server/src/core/config/configDocument';
import { expandVariables } from '../../../server/src/core/config/connectionSettings';
import { loadConfigEnvironment, resolveTarget } from '../../../server/src/io/config/configFiles';

const pool = (yaml: string, name = 'project') => {
  const text = `memory:\n  postgresql:\n    ${name}:\n${yaml
    .split('\n')
    .map((l) => `      ${l}`)
    .join('\n')}\n      poolSize: 5\n`;
  return parseConfigDocument(text).pools[0]!;
};

describe('expandVariables', () => {
  it('expands ${VAR}, ${VAR:-default} and ${VAR-default}', () => {
    assert.deepEqual(expandVariables('a${X}b', { X: '1' }), { value: 'a1b', missing: [] });
    assert.deepEqual(expandVariables('${X:-def}', {}), { value: 'def', missing: [] });
    assert.deepEqual(expandVariables('${X:-def}', { X: '' }), { value: 'def', missing: [] });
    assert.deepEqual(expandVariables('${X-def}', { X: '' }), { value: '', missing: [] });
    assert.deepEqual(expandVariables('${X}', {}), { value: '', missing: ['X'] });
    assert.deepEqual(expandVariables('plain $X text', {}), { value: 'plain $X text', missing: [] });
  });
});

describe('resolveTarget', () => {
  const none = { PGPASSFILE: '/nonexistent/pgpass' };

  it('takes the pool keys first, expanding variables', async () => {
    const r = await resolveTarget(pool('host: db\nport: 6000\ndatabase: d\nuser: u\npassword: ${P}'), {
      ...none,
      P: 'pw',
      RUVECTOR_HOST: 'ignored',
    });
    assert.deepEqual(r.target, {
      host: 'db',
      port: 6000,
      database: 'd',
      user: 'u',
      password: 'pw',
      // libpq's default sslmode: TLS where the server offers it.
      ssl: { mode: 'prefer' },
    });
    assert.equal(r.sources.host, 'config');
  });

  it('falls back to RUVECTOR_* for project and SHARED_KNOWLEDGE_* for shared, then PG*', async () => {
    const env = {
      ...none,
      RUVECTOR_HOST: 'rv',
      RUVECTOR_PORT: '5433',
      RUVECTOR_DB: 'rvdb',
      RUVECTOR_USER: 'rvu',
      RUVECTOR_PASSWORD: 'rvp',
      RUVECTOR_SSLMODE: 'require',
      SHARED_KNOWLEDGE_HOST: 'sk',
      PGUSER: 'pgu',
      PGPASSWORD: 'pgp',
    };
    const project = await resolveTarget(pool(''), env);
    assert.deepEqual(project.target, {
      host: 'rv',
      port: 5433,
      database: 'rvdb',
      user: 'rvu',
      password: 'rvp',
      ssl: { mode: 'require' },
    });
    assert.equal(project.sources.user, 'origin-env');
    const shared = await resolveTarget(pool('', 'shared'), env);
    assert.deepEqual(shared.target, {
      host: 'sk',
      port: 5432,
      database: 'pgu',
      user: 'pgu',
      password: 'pgp',
      ssl: { mode: 'prefer' },
    });
    assert.equal(shared.sources.user, 'libpq-env');
  });

  it('an unresolved ${VAR} is reported and the next source is used', async () => {
    const r = await resolveTarget(pool('password: ${NOPE}'), { ...none, RUVECTOR_PASSWORD: 'fallback' });
    assert.equal(r.target.password, 'fallback');
    assert.deepEqual(
      r.unresolved.map((u) => u.name),
      ['NOPE'],
    );
  });

  it('a port that is not a number is a problem on the port value', async () => {
    const r = await resolveTarget(pool('port: abc'), none);
    assert.equal(r.target.port, 5432);
    assert.match(r.problems[0]!.message, /port "abc" is not a TCP port number/);
  });

  describe('files', () => {
    let dir: string;
    before(async () => {
      dir = await mkdtemp(join(tmpdir(), 'pool-capacity-unit-'));
      await mkdir(join(dir, '.claude-flow'));
      await writeFile(join(dir, '.env'), 'RUVECTOR_PASSWORD=from-dotenv\nONLY_IN_FILE="quoted value"\n');
      await writeFile(join(dir, 'pgpass'), 'db.example:5432:appdb:app:from-pgpass\n');
      await chmod(join(dir, 'pgpass'), 0o600);
    });
    after(() => rm(dir, { recursive: true, force: true }));

    it('reads the .env next to .claude-flow/, the process environment winning', async () => {
      const env = await loadConfigEnvironment(join(dir, '.claude-flow', 'config.yaml'), {
        ONLY_IN_FILE: undefined,
        RUVECTOR_PASSWORD: 'from-process',
      });
      assert.equal(env.RUVECTOR_PASSWORD, 'from-process');
      assert.equal(env.ONLY_IN_FILE, 'quoted value');
      const fileOnly = await loadConfigEnvironment(join(dir, '.claude-flow', 'config.yaml'), {});
      assert.equal(fileOnly.RUVECTOR_PASSWORD, 'from-dotenv');
    });

    it('takes the password from a pgpass file last', async () => {
      const r = await resolveTarget(pool('host: db.example\ndatabase: appdb\nuser: app'), {
        PGPASSFILE: join(dir, 'pgpass'),
      });
      assert.equal(r.target.password, 'from-pgpass');
      assert.equal(r.sources.password, 'pgpass');
    });
  });
});
