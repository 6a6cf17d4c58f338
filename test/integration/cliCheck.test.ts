import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { type Cluster, startCluster } from '../harness/pgCluster';

const CLI = join(__dirname, '..', '..', 'dist', 'cli.js');
const PASSWORD = 'cli-Secret-77aa';

function check(cwd: string, args: string[], env: Record<string, string> = {}) {
  const result = spawnSync(process.execPath, [CLI, 'check', ...args], {
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

  const config = (project: number, shared: number) => `memory:
  postgresql:
    project:
      host: 127.0.0.1
      port: ${cluster.port}
      database: cli_db
      user: cli
      password: \${CLI_PASSWORD}
      poolSize: ${project}
    shared:
      host: 127.0.0.1
      port: ${cluster.port}
      database: cli_db
      user: cli
      password: \${CLI_PASSWORD}
      poolSize: ${shared}
`;

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
    assert.match(
      lines[0]!,
      /^\.claude-flow\/config\.yaml:9:17: error pool-exceeds-server project: the pools on 127\.0\.0\.1:\d+ need 55 connections \(project 40 \+ shared 15\) but the server can give 3\d now/,
    );
    assert.match(lines[1]!, /^\.claude-flow\/config\.yaml:16:17: error pool-exceeds-server shared: /);
    assert.equal(lines.at(-1), '2 errors, 0 warnings');
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

  it('a wrong password is a warning naming the reason, never the password', async () => {
    await writeFile(join(dir, '.claude-flow', 'config.yaml'), config(10, 5));
    const { code, stdout } = check(dir, [], { CLI_PASSWORD: 'not-the-password-x1' });
    assert.equal(code, 0);
    assert.match(
      stdout,
      /warning server-unreachable project: cannot connect to cli@127\.0\.0\.1:\d+\/cli_db: authentication failed/,
    );
    assert.ok(!stdout.includes('not-the-password-x1'));
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
});
