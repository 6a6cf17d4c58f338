/**
 * The CLI as a new user meets it: --version, --help with examples, the config path taken the same
 * way by every command, one-line errors for paths that are not a config, a refusal that explains its
 * numbers, and a cancelled round reported as CANCELLED. The built CLI (dist/cli.js) against a real server.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { CLI, type CliResult, spawnCli } from '../../harness/cliProcess';
import { writePoolConfig } from '../../harness/configFixture';
import { type Cluster, startCluster } from '../../harness/pgCluster';

const PASSWORD = 'first-Contact-Pw-51c';
const { version } = JSON.parse(readFileSync(path.resolve(__dirname, '../../package.json'), 'utf8')) as {
  version: string;
};

let cluster: Cluster;
let workspace: string;

// Bounded: a hung CLI fails the test instead of hanging it.
const start = (args: string[], command?: string[]) =>
  spawnCli(args, { cwd: workspace, timeoutMs: 60_000, ...(command ? { command } : {}) });
const cli = (...args: string[]) => start(args).done;

/** exit 2, exactly one line on stderr matching `pattern`, nothing on stdout, no stack trace. */
function assertOneLine(result: CliResult, pattern: RegExp) {
  assert.equal(result.code, 2, result.stderr);
  assert.equal(result.stdout, '');
  const lines = result.stderr.trimEnd().split('\n');
  assert.equal(lines.length, 1, result.stderr);
  assert.match(lines[0]!, pattern);
  assert.doesNotMatch(result.stderr, /\n\s+at |EISDIR|EACCES/);
}

function writeConfig(name: string, poolSize: number): string {
  return writePoolConfig(path.join(workspace, name), {
    maxAgents: 4,
    env: { APP_DB_PASSWORD: PASSWORD },
    project: { port: cluster.port, poolSize },
  });
}

describe('pool-capacity CLI, first contact (max_connections 30)', { timeout: 180_000 }, () => {
  let config: string;
  before(async () => {
    cluster = await startCluster({ maxConnections: 30 });
    await cluster.createRole('app', { password: PASSWORD });
    workspace = mkdtempSync(path.join(os.tmpdir(), 'pool-capacity-first-'));
    config = writeConfig('ok', 8);
  });
  after(async () => {
    await cluster?.stop();
    if (workspace) rmSync(workspace, { recursive: true, force: true });
  });

  it('--version prints the package version', async () => {
    for (const flag of ['--version', '-V']) {
      const result = await cli(flag);
      assert.equal(result.code, 0, result.stderr);
      assert.equal(result.stdout.trim(), version);
    }
  });

  it('--help shows an example for every command', async () => {
    const top = await cli('--help');
    assert.equal(top.code, 0);
    for (const command of ['check', 'report', 'test']) {
      assert.match(top.stdout, new RegExp(`^  pool-capacity ${command} `, 'm'));
      const help = await cli(command, '--help');
      assert.equal(help.code, 0, help.stderr);
      assert.match(help.stdout, /^Examples?:$/m);
      assert.match(help.stdout, new RegExp(`^  pool-capacity ${command} \\S`, 'm'));
      assert.match(help.stdout, /--config <path>/);
      assert.match(help.stdout, /\[config\]/);
    }
  });

  it('every command takes the config as an argument or with --config, with the same result', async () => {
    for (const command of [['check'], ['report'], ['test', '3', '--duration', '20']]) {
      const positional = await cli(...command, config, '--json');
      const flagged = await cli(...command, '--config', config, '--json');
      assert.equal(positional.code, 0, `${command[0]}: ${positional.stderr}`);
      assert.equal(flagged.code, 0, `${command[0]}: ${flagged.stderr}`);
      const a = JSON.parse(positional.stdout);
      const b = JSON.parse(flagged.stdout);
      if (command[0] === 'check') assert.deepEqual(a, b);
      if (command[0] === 'test')
        assert.deepEqual([a.agents, a.succeeded, b.agents, b.succeeded], [3, 3, 3, 3]);
    }
    // A lone non-number after `test` is the config; the agents then come from swarm.maxAgents.
    const alone = await cli('test', config, '--duration', '20', '--json');
    assert.equal(alone.code, 0, alone.stderr);
    assert.equal(JSON.parse(alone.stdout).agents, 4);
    assertOneLine(
      await cli('report', config, '--config', writeConfig('other', 8)),
      /^pool-capacity: two configs given/,
    );
  });

  it('a directory, a missing file and files that are not YAML each get one line, for every command', async () => {
    const binary = path.join(workspace, 'logo.yaml');
    writeFileSync(
      binary,
      Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0x00, 0x00, 0xff, 0xfe]),
    );
    const prose = path.join(workspace, 'notes.yaml');
    writeFileSync(prose, 'Remember to size the pools before Friday.\n');
    const list = path.join(workspace, 'list.yaml');
    writeFileSync(list, '- memory\n- swarm\n');
    const cases: [string, RegExp][] = [
      [workspace, /^pool-capacity: cannot read .*: it is a directory, not a config file$/],
      [
        path.join(workspace, 'ok'),
        /: it is a directory, not a config file \(did you mean .*ok\/\.claude-flow\/config\.yaml\?\)$/,
      ],
      [binary, /^pool-capacity: cannot use .*logo\.yaml: it is not a text file, so not a YAML config$/],
      [
        prose,
        /^pool-capacity: cannot use .*notes\.yaml: it is not a YAML config: its top level is not a mapping/,
      ],
      [list, /^pool-capacity: cannot use .*list\.yaml: it is not a YAML config/],
      [path.join(workspace, 'missing.yaml'), /^pool-capacity: cannot read .*missing\.yaml: no such file$/],
    ];
    for (const [file, pattern] of cases) {
      for (const command of [['check'], ['report'], ['test', '3']]) {
        assertOneLine(await cli(...command, file), pattern);
        assertOneLine(await cli(...command, '--config', file), pattern);
      }
    }
  });

  it('an unreadable file gets one line', async (t) => {
    const secretDir = mkdtempSync(path.join(os.tmpdir(), 'pool-capacity-unreadable-'));
    t.after(() => rmSync(secretDir, { recursive: true, force: true }));
    const file = path.join(secretDir, 'config.yaml');
    writeFileSync(file, readFileSync(config, 'utf8'));
    chmodSync(file, 0o000);
    chmodSync(secretDir, 0o755);
    // root reads anything: run the CLI as an ordinary user then (runuser is part of util-linux).
    const runner =
      process.getuid?.() === 0
        ? ['runuser', '-u', 'nobody', '--', process.execPath, CLI]
        : [process.execPath, CLI];
    if (process.getuid?.() === 0)
      assert.equal(spawnSync('runuser', ['-u', 'nobody', '--', 'true']).status, 0);
    for (const command of [['check'], ['report'], ['test', '3']]) {
      const result = await start([...command, file], runner).done;
      assertOneLine(result, /^pool-capacity: cannot read .*config\.yaml: permission denied/);
    }
  });

  it('a refusal explains the observer connection and tells the CLI user about --force', async () => {
    const big = writeConfig('big', 30);
    const refused = await cli('test', '25', '--duration', '20', big);
    assertOneLine(
      refused,
      /^pool-capacity: Load test refused: it would hold up to 25 agents \+ 1 observer connection = 26 connections on 127\.0\.0\.1:\d+, .* To run it anyway, add --force\.$/,
    );
    assert.doesNotMatch(refused.stderr, /editor|\(CLI\)/);
    assert.equal(await cluster.countConnections('pool-capacity/', { prefix: true }), 0);
  });

  it('a sustained run cancelled with Ctrl-C prints CANCELLED, not FAIL, and exits 130', async () => {
    const { child, done } = start(['test', '3', '--rounds', '100', '--duration', '400', config]);
    const deadline = Date.now() + 20_000;
    // Three agents plus the observer: the first round is under way.
    while ((await cluster.countConnections('pool-capacity/', { prefix: true })) < 4) {
      assert.ok(Date.now() < deadline, 'the run never got its connections');
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    child.kill('SIGINT');
    const result = await done;
    assert.equal(result.code, 130, result.stderr);
    assert.match(result.stdout, /^CANCELLED round \d+ /m);
    assert.match(result.stdout, /^Result\s+CANCELLED /m);
    assert.doesNotMatch(result.stdout, /\bFAIL\b/);
    assert.equal(await cluster.waitForConnections('pool-capacity/', 0, { prefix: true, timeoutMs: 5000 }), 0);
  });
});
