import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { poolConfigYaml } from '../../harness/configFixture';
import { freePort } from '../../harness/freePort';
import { type Cluster, type Occupation, startCluster } from '../../harness/pgCluster';

const CLI = join(__dirname, '..', '..', 'dist', 'cli.js');
const PASSWORD = 'cli-Secret-77aa';

function check(cwd: string, args: string[], env: Record<string, string> = {}) {
  return cli(cwd, ['check', ...args], env);
}

function cli(cwd: string, args: string[], env: Record<string, string> = {}) {
  const result = spawnSync(process.execPath, [CLI, ...args], {
    cwd,
    env: { PATH: process.env.PATH, HOME: process.env.HOME, PGPASSFILE: '/nonexistent', ...env },
    encoding: 'utf8',
    timeout: 30_000,
  });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}

describe('pool-capacity check (CLI) against a real PostgreSQL', () => {
  let cluster: Cluster;
  let dir: string;

  const config = (project: number, shared: number) => {
    const pool = { port: cluster.port, database: 'cli_db', user: 'cli', password: '${CLI_PASSWORD}' };
    return poolConfigYaml({
      backend: false,
      project: { ...pool, poolSize: project },
      shared: { ...pool, poolSize: shared },
    });
  };

  before(async () => {
    cluster = await startCluster({ maxConnections: 40 });
    await cluster.createRole('cli', { password: PASSWORD });
    await cluster.createDatabase('cli_db', { owner: 'cli' });
    dir = await mkdtemp(join(tmpdir(), 'pool-capacity-cli-'));
    await mkdir(join(dir, '.claude-flow'));
  });

  after(async () => {
    await rm(dir, { recursive: true, force: true });
    await cluster?.stop();
  });

  it('prints file:line:col: severity code message and exits 1 on an error', async () => {
    await writeFile(join(dir, '.claude-flow', 'config.yaml'), config(40, 15));
    const { code, stdout, stderr } = check(dir, [], { CLI_PASSWORD: PASSWORD });
    assert.equal(code, 1, stderr);
    const lines = stdout.trim().split('\n');
    // The wording of the capacity finding is the budget's; here only where it stands and its sum.
    assert.match(lines[0]!, /^\.claude-flow\/config\.yaml:9:17: error pool-exceeds-server project\b/);
    assert.ok(lines[0]!.includes('project 40 + shared 15') && lines[0]!.includes('55'), lines[0]);
    // Which pools carry the error is the budget's judgement (issue 14, point 2): at least project.
    assert.match(lines.at(-1)!, /^[12] errors?, 0 warnings$/);
    assert.ok(!stdout.includes(PASSWORD) && !stderr.includes(PASSWORD));
  });

  it('exits 0 when the pools fit, and --json carries the same findings', async () => {
    await writeFile(join(dir, '.claude-flow', 'config.yaml'), config(10, 5));
    const plain = check(dir, ['--target-agents', '20'], { CLI_PASSWORD: PASSWORD });
    assert.equal(plain.code, 0, plain.stderr);
    assert.match(
      plain.stdout,
      /config\.yaml:9:17: warning pool-below-target project: poolSize 10 is smaller than the 20 concurrent agents/,
    );
    const json = check(dir, ['.claude-flow/config.yaml', '--json', '--target-agents', '20'], {
      CLI_PASSWORD: PASSWORD,
    });
    assert.equal(json.code, 0);
    const parsed = JSON.parse(json.stdout);
    assert.equal(parsed.targetAgents, 20);
    assert.deepEqual(
      parsed.diagnostics.map((d: { code: string; line: number; column: number }) => [
        d.code,
        d.line,
        d.column,
      ]),
      [['pool-below-target', 9, 17]],
    );
    assert.equal(parsed.diagnostics[0].fixes[0].newSize, 20);
  });

  /** The one-line finding of the project pool, as `check` prints it. */
  const projectLine = (stdout: string) =>
    stdout.split('\n').find((l) => /: warning \S+ project: cannot connect/.test(l)) ?? stdout;

  it('a wrong password is auth-failed, exit 3, never the password; --allow-unverified exits 0', async () => {
    await writeFile(join(dir, '.claude-flow', 'config.yaml'), config(10, 5));
    const { code, stdout, stderr } = check(dir, [], { CLI_PASSWORD: 'not-the-password-x1' });
    assert.equal(code, 3, stderr);
    assert.match(
      projectLine(stdout),
      /^\.claude-flow\/config\.yaml:3:5: warning auth-failed project: cannot connect to cli@127\.0\.0\.1:\d+\/cli_db: authentication failed \(28P01: password authentication failed for user "cli"\)$/,
    );
    assert.equal(
      stdout.trim().split('\n').at(-1),
      '0 errors, 3 warnings, 2 of 2 pools not verified against their servers',
    );
    assert.ok(!stdout.includes('not-the-password-x1') && !stderr.includes('not-the-password-x1'));

    const allowed = check(dir, ['--allow-unverified'], { CLI_PASSWORD: 'not-the-password-x1' });
    assert.equal(allowed.code, 0, allowed.stderr);
    assert.match(allowed.stdout, /warning auth-failed project:/);

    const json = check(dir, ['--json'], { CLI_PASSWORD: 'not-the-password-x1' });
    assert.equal(json.code, 3);
    const parsed = JSON.parse(json.stdout);
    assert.deepEqual(
      parsed.pools.map((p: { name: string; verified: boolean; reason?: string }) => [
        p.name,
        p.verified,
        p.reason,
      ]),
      [
        ['project', false, 'auth-failed'],
        ['shared', false, 'auth-failed'],
      ],
    );
    assert.match(parsed.pools[0].server, /^cli@127\.0\.0\.1:\d+\/cli_db$/);
    assert.match(parsed.pools[0].message, /^project: cannot connect to .*: authentication failed/);
    assert.ok(!json.stdout.includes('not-the-password-x1'));
  });

  it('a missing database is database-missing, exit 3', async () => {
    await writeFile(
      join(dir, '.claude-flow', 'config.yaml'),
      config(10, 5).replaceAll('database: cli_db', 'database: no_such_db'),
    );
    const { code, stdout, stderr } = check(dir, [], { CLI_PASSWORD: PASSWORD });
    assert.equal(code, 3, stderr);
    assert.match(
      projectLine(stdout),
      /warning database-missing project: cannot connect to cli@127\.0\.0\.1:\d+\/no_such_db: no such database \(3D000: database "no_such_db" does not exist\)$/,
    );
  });

  it('a refused port is server-unreachable, exit 3', async () => {
    const closed = await freePort();
    await writeFile(
      join(dir, '.claude-flow', 'config.yaml'),
      config(10, 5).replaceAll(`port: ${cluster.port}`, `port: ${closed}`),
    );
    const { code, stdout, stderr } = check(dir, [], { CLI_PASSWORD: PASSWORD });
    assert.equal(code, 3, stderr);
    assert.match(
      projectLine(stdout),
      new RegExp(
        `warning server-unreachable project: cannot connect to cli@127\\.0\\.0\\.1:${closed}/cli_db: connection refused`,
      ),
    );
  });

  it('an unknown host is server-unreachable, exit 3', async () => {
    await writeFile(
      join(dir, '.claude-flow', 'config.yaml'),
      config(10, 5).replaceAll('host: 127.0.0.1', 'host: no-such-host.invalid'),
    );
    const { code, stdout, stderr } = check(dir, ['--connect-timeout', '2000'], { CLI_PASSWORD: PASSWORD });
    assert.equal(code, 3, stderr);
    assert.match(
      projectLine(stdout),
      /warning server-unreachable project: cannot connect to cli@no-such-host\.invalid:\d+\/cli_db: (host not found|connect timeout)/,
    );
  });

  it('sslmode require on a server without TLS is tls-failed, exit 3', async () => {
    await writeFile(
      join(dir, '.claude-flow', 'config.yaml'),
      config(10, 5).replaceAll('      poolSize:', '      sslmode: require\n      poolSize:'),
    );
    const { code, stdout, stderr } = check(dir, [], { CLI_PASSWORD: PASSWORD });
    assert.equal(code, 3, stdout + stderr);
    assert.match(
      projectLine(stdout),
      /warning tls-failed project: cannot connect to cli@127\.0\.0\.1:\d+\/cli_db: SSL error \(The server does not support SSL connections\)$/,
    );
  });

  it('errors win over "not verified": exit 1 when one pool is too big and the other cannot be read', async () => {
    const closed = await freePort();
    const text = config(60, 5).replace(
      `port: ${cluster.port}\n      database: cli_db\n      user: cli\n      password: \${CLI_PASSWORD}\n      poolSize: 5`,
      `port: ${closed}\n      database: cli_db\n      user: cli\n      password: \${CLI_PASSWORD}\n      poolSize: 5`,
    );
    assert.notEqual(text, config(60, 5));
    await writeFile(join(dir, '.claude-flow', 'config.yaml'), text);
    const { code, stdout } = check(dir, [], { CLI_PASSWORD: PASSWORD });
    assert.equal(code, 1, stdout);
    assert.match(stdout, /error pool-exceeds-server project\b/);
    assert.match(stdout, /warning server-unreachable shared:/);
  });

  it('a missing config exits 2 with one clear line', () => {
    const { code, stdout, stderr } = check(dir, ['nope/config.yaml']);
    assert.equal(code, 2);
    assert.equal(stdout, '');
    assert.match(stderr.trim(), /^pool-capacity: cannot read .*nope\/config\.yaml: no such file$/);
  });

  it('broken YAML exits 1 with yaml-syntax', async () => {
    await writeFile(join(dir, '.claude-flow', 'config.yaml'), 'memory:\n  postgresql: [\n');
    const { code, stdout } = check(dir, []);
    assert.equal(code, 1);
    assert.match(stdout, /error yaml-syntax YAML syntax error/);
  });

  describe('broken config is reported, not guessed', () => {
    // The unclosed list swallows the connection keys written after it.
    const broken = () =>
      config(10, 5).replace(
        '    project:\n      host: 127.0.0.1',
        '    project:\n      poolSize: [oops\n      host: 127.0.0.1',
      );

    it('check: yaml-syntax first, exit 1, and no probe of libpq defaults', async () => {
      await writeFile(join(dir, '.claude-flow', 'config.yaml'), broken());
      // PGHOST/PGPORT point at a port nothing listens on: a probe with the defaults would say so.
      const closed = await freePort();
      const { code, stdout } = check(dir, ['--json'], {
        CLI_PASSWORD: PASSWORD,
        PGHOST: '127.0.0.1',
        PGPORT: String(closed),
      });
      assert.equal(code, 1, stdout);
      const parsed = JSON.parse(stdout);
      assert.equal(parsed.diagnostics[0].code, 'yaml-syntax');
      assert.deepEqual([parsed.diagnostics[0].line, parsed.diagnostics[0].column], [5, 7]);
      assert.ok(!stdout.includes('cannot connect'), stdout);
      assert.equal(parsed.pools[0].verified, false);
      assert.equal(parsed.pools[0].reason, 'yaml-syntax');
    });

    for (const command of [['report'], ['test', '2', '--duration', '0']]) {
      it(`${command[0]}: stops on the syntax error with file:line:col first, exit 2`, async () => {
        await writeFile(join(dir, '.claude-flow', 'config.yaml'), broken());
        const { code, stdout, stderr } = cli(dir, command, { CLI_PASSWORD: PASSWORD });
        assert.equal(code, 2, stdout + stderr);
        assert.equal(stdout, '');
        const lines = stderr.trim().split('\n');
        assert.match(lines[0]!, /^\.claude-flow\/config\.yaml:5:7: error yaml-syntax YAML syntax error: /);
        assert.match(
          lines.at(-1)!,
          /^pool-capacity: \.claude-flow\/config\.yaml has \d+ errors? to fix first/,
        );
        assert.equal(await cluster.countConnections('pool-capacity/', { prefix: true }), 0);
      });
    }

    it('a host that is a mapping is invalid-connection-setting: check exit 1, report and test exit 2, nothing probed', async () => {
      await writeFile(
        join(dir, '.claude-flow', 'config.yaml'),
        config(10, 5).replace('host: 127.0.0.1', 'host: {name: db}'),
      );
      const checked = check(dir, [], { CLI_PASSWORD: PASSWORD });
      assert.equal(checked.code, 1, checked.stdout);
      assert.match(
        checked.stdout,
        /^\.claude-flow\/config\.yaml:4:13: error invalid-connection-setting project: host must be a single text value, not a mapping$/m,
      );
      assert.ok(!checked.stdout.includes('object Object'));
      assert.doesNotMatch(checked.stdout, / project: cannot connect/);
      for (const command of [['report'], ['test', '2', '--duration', '0']]) {
        const { code, stderr } = cli(dir, command, { CLI_PASSWORD: PASSWORD });
        assert.equal(code, 2, stderr);
        assert.match(
          stderr.split('\n')[0]!,
          /^\.claude-flow\/config\.yaml:4:13: error invalid-connection-setting project: host must be a single text value, not a mapping$/,
        );
        assert.ok(!stderr.includes('object Object'));
      }
    });
  });
});

describe('pool-capacity check (CLI) against a PostgreSQL with every slot taken', () => {
  let cluster: Cluster;
  let dir: string;
  let filled: Occupation | undefined;

  before(async () => {
    cluster = await startCluster({ maxConnections: 8, superuserReservedConnections: 2 });
    await cluster.createRole('plain', { password: PASSWORD });
    await cluster.createDatabase('plain_db', { owner: 'plain' });
    dir = await mkdtemp(join(tmpdir(), 'pool-capacity-cli-full-'));
    await mkdir(join(dir, '.claude-flow'));
  });

  after(async () => {
    await filled?.release();
    await rm(dir, { recursive: true, force: true });
    await cluster?.stop();
  });

  it('a probe refused with 53300 is server-full, exit 3', async () => {
    await writeFile(
      join(dir, '.claude-flow', 'config.yaml'),
      `memory:
  postgresql:
    project:
      host: 127.0.0.1
      port: ${cluster.port}
      database: plain_db
      user: plain
      password: \${PLAIN_PASSWORD}
      poolSize: 2
`,
    );
    // A plain role takes every slot it may: the probe, as the same role, is refused.
    filled = await cluster.occupy(20, {
      user: 'plain',
      password: PASSWORD,
      database: 'plain_db',
      upToLimit: true,
    });
    assert.ok(filled.count >= 1 && filled.count < 20, `held ${filled.count}`);
    const { code, stdout, stderr } = check(dir, [], { PLAIN_PASSWORD: PASSWORD });
    assert.equal(code, 3, stdout + stderr);
    assert.match(
      stdout.split('\n')[0]!,
      /^\.claude-flow\/config\.yaml:3:5: warning server-full project: cannot connect to plain@127\.0\.0\.1:\d+\/plain_db: server refusal 53300: (slots reserved for superusers|too many clients) \(53300: .+\)$/,
    );
    const json = JSON.parse(check(dir, ['--json'], { PLAIN_PASSWORD: PASSWORD }).stdout);
    assert.deepEqual(
      json.pools.map((p: { verified: boolean; reason: string }) => [p.verified, p.reason]),
      [[false, 'server-full']],
    );
    assert.equal(check(dir, ['--allow-unverified'], { PLAIN_PASSWORD: PASSWORD }).code, 0);

    await filled.release();
    filled = undefined;
    const freed = check(dir, ['--json'], { PLAIN_PASSWORD: PASSWORD });
    assert.equal(freed.code, 0, freed.stdout);
    assert.deepEqual(JSON.parse(freed.stdout).pools[0].verified, true);
  });
});
