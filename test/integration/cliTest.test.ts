/**
 * `pool-capacity test` and `pool-capacity report` as a user runs them: the built CLI (dist/cli.js,
 * built by `npm run test:integration`) against a real server, with a config and .env in a temp dir.
 */
import assert from 'node:assert/strict';

import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { type CliResult, spawnCli } from '../../harness/cliProcess';
import { writePoolConfig } from '../../harness/configFixture';
import { type Cluster, startCluster } from '../../harness/pgCluster';

const APP_PASSWORD = 'cli-App-Pw-6a2f91';
const SHARED_PASSWORD = 'cli-Shared-Pw-0b77';

let cluster: Cluster;
let workspace: string;

const start = (args: string[]) => spawnCli(args, { cwd: workspace });
const cli = (...args: string[]) => start(args).done;
/** `test <args> --config <config> --json`. */
const testJson = (config: string, ...args: string[]) => cli('test', ...args, '--config', config, '--json');

/** Writes .claude-flow/config.yaml (layout A) and the .env holding the passwords. */
function writeConfig(
  name: string,
  opts: { projectSize: number; sharedSize?: number; port?: number; password?: string },
): string {
  const port = opts.port ?? cluster.port;
  return writePoolConfig(path.join(workspace, name), {
    maxAgents: 6,
    env: { APP_DB_PASSWORD: opts.password ?? APP_PASSWORD, SHARED_DB_PASSWORD: SHARED_PASSWORD },
    project: { port, poolSize: opts.projectSize, extra: ['connectionTimeout: 5000'] },
    shared: { port, user: 'shared_user', password: '${SHARED_DB_PASSWORD}', poolSize: opts.sharedSize ?? 4 },
  });
}

function assertNoSecrets(result: CliResult) {
  for (const secret of [APP_PASSWORD, SHARED_PASSWORD, 'wrong-Pw-777']) {
    assert.ok(!result.stdout.includes(secret) && !result.stderr.includes(secret), 'password printed');
  }
}

/** "cannot run": exit 2, one line on stderr, no stack trace. */
function assertSetupFailure(result: CliResult, pattern: RegExp) {
  assert.equal(result.code, 2, result.stderr);
  assert.equal(result.stdout, '');
  const lines = result.stderr.trimEnd().split('\n');
  assert.equal(lines.length, 1, result.stderr);
  assert.match(lines[0]!, pattern);
  assert.doesNotMatch(result.stderr, /\n\s+at /);
  assertNoSecrets(result);
}

describe('pool-capacity test / report CLI (max_connections 30)', { timeout: 120_000 }, () => {
  let config10: string;
  before(async () => {
    cluster = await startCluster({ maxConnections: 30 });
    await cluster.createRole('app', { password: APP_PASSWORD });
    await cluster.createRole('shared_user', { password: SHARED_PASSWORD });
    workspace = mkdtempSync(path.join(os.tmpdir(), 'pool-capacity-cli-'));
    config10 = writeConfig('ten', { projectSize: 10 });
  });
  after(async () => {
    await cluster?.stop();
    if (workspace) rmSync(workspace, { recursive: true, force: true });
  });

  it('--json prints one object with the documented fields; at the pool size exit 0', async () => {
    const result = await testJson(config10, '8', '--duration', '100');
    assert.equal(result.code, 0, result.stderr);
    assert.equal(result.stderr, '', 'no progress line without a terminal');
    const lines = result.stdout.trimEnd().split('\n');
    assert.equal(lines.length, 1);
    const report = JSON.parse(lines[0]!);
    assert.equal(report.agents, 8);
    assert.equal(report.succeeded, 8);
    assert.equal(report.failed, 0);
    assert.equal(report.successRate, 1);
    assert.equal(typeof report.wallMs, 'number');
    for (const key of ['p50', 'p95', 'p99', 'max']) assert.equal(typeof report.latencyMs[key], 'number', key);
    assert.deepEqual(report.failures, {});
    assert.equal(report.leftover, 0);
    assert.equal(report.verdict, 'PASS');
    assertNoSecrets(result);
  });

  it('the agent count defaults to swarm.maxAgents', async () => {
    const result = await testJson(config10, '--duration', '20');
    assert.equal(JSON.parse(result.stdout).agents, 6);
  });

  it('above the pool size: pool exhaustion is a WARN with exit 0 and a readable table', async () => {
    const result = await cli('test', '12', '--duration', '200', '--config', config10);
    assert.equal(result.code, 0, result.stderr);
    const lines = result.stdout.trimEnd().split('\n');
    assert.ok(
      lines.some((l) => /^WARN\s+capacity\s+12\s+83\.3%\s+\d+\.\d\ds\s+2 failed, pool exhaustion$/.test(l)),
      result.stdout,
    );
    assert.ok(lines.some((l) => l.startsWith('Failures pool-exhausted 2: client pool exhausted')));
    assert.ok(lines.some((l) => /^Latency {2}agent\s+p50 /.test(l)));
    assert.equal(lines.at(-1)!.split(/\s+/)[1], 'WARN');
    assertNoSecrets(result);
  });

  it('--json with pool exhaustion counts the failures by class', async () => {
    const result = await testJson(config10, '12', '--duration', '200');
    const report = JSON.parse(result.stdout);
    assert.equal(report.succeeded, 10);
    assert.deepEqual(report.failures, { 'pool-exhausted': 2 });
  });

  it('--burst prints one line per burst and a total', async () => {
    const result = await cli(
      'test',
      '5',
      '--burst',
      '--bursts',
      '3',
      '--pause',
      '20',
      '--duration',
      '30',
      '--config',
      config10,
    );
    assert.equal(result.code, 0, result.stderr);
    for (const n of [1, 2, 3])
      assert.match(result.stdout, new RegExp(`^PASS\\s+burst ${n}\\s+5\\s+100%`, 'm'));
    assert.match(result.stdout, /^Total\s+15\s+100%\s+\d+\.\d\ds\s+average burst/m);
  });

  it('--rounds runs the sustained test and reports connections after each round', async () => {
    const result = await testJson(config10, '3', '--rounds', '3', '--duration', '20');
    assert.equal(result.code, 0, result.stderr);
    const report = JSON.parse(result.stdout);
    assert.equal(report.shape, 'sustained');
    assert.deepEqual(
      report.phases.map((p: { connectionsAfter: number }) => p.connectionsAfter),
      [3, 3, 3],
    );
    assert.equal(report.leakDetected, false);
  });

  it('--pool both splits the agents over project and shared', async () => {
    const result = await testJson(config10, '14', '--pool', 'both', '--duration', '50');
    assert.equal(result.code, 0, result.stderr);
    const report = JSON.parse(result.stdout);
    assert.deepEqual(
      report.pools.map((p: { name: string; agents: number }) => [p.name, p.agents]),
      [
        ['project', 10],
        ['shared', 4],
      ],
    );
    assertNoSecrets(result);
  });

  it('exit 1 when agents at or below the pool size fail (direct past the server slots)', async () => {
    const config40 = writeConfig('forty', { projectSize: 40 });
    const result = await testJson(config40, '30', '--mode', 'direct', '--duration', '200', '--force');
    assert.equal(result.code, 1, result.stderr);
    const report = JSON.parse(result.stdout);
    assert.equal(report.verdict, 'FAIL');
    assert.ok(report.failed > 0);
    for (const cls of Object.keys(report.failures))
      assert.match(cls, /^(reserved-superuser|too-many-clients)$/);
    assert.equal(report.leftover, 0);
    assertNoSecrets(result);
  });

  it('the safety refusal exits 2 and says how to go ahead; --force runs it', async () => {
    const config30 = writeConfig('thirty', { projectSize: 30 });
    const refused = await cli('test', '25', '--duration', '50', '--config', config30);
    assertSetupFailure(
      refused,
      /^pool-capacity: Load test refused: it would hold up to 25 agents \+ 1 observer connection = 26 connections .* To run it anyway, add --force\.$/,
    );
    assert.equal(await cluster.countConnections('pool-capacity/', { prefix: true }), 0);
    const forced = await testJson(config30, '25', '--duration', '50', '--force');
    assert.equal(forced.code, 0, forced.stderr);
    assert.equal(JSON.parse(forced.stdout).succeeded, 25);
  });

  it('Ctrl-C cancels promptly, closes every connection, prints what it has and exits 130', async () => {
    const { child, done } = start(['test', '6', '--duration', '60000', '--config', config10, '--json']);
    const deadline = Date.now() + 15_000;
    // Six agents plus the observer.
    while ((await cluster.countConnections('pool-capacity/', { prefix: true })) < 7) {
      assert.ok(Date.now() < deadline, 'the run never got its connections');
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    const t0 = Date.now();
    child.kill('SIGINT');
    const [result, left] = await Promise.all([
      done,
      cluster.waitForConnections('pool-capacity/', 0, { prefix: true, timeoutMs: 1000 }),
    ]);
    assert.equal(left, 0);
    assert.equal(result.code, 130, result.stderr);
    assert.ok(Date.now() - t0 < 3000, `exit took ${Date.now() - t0} ms`);
    const report = JSON.parse(result.stdout);
    assert.equal(report.cancelled, true);
    assert.equal(report.leftover, 0);
    assert.deepEqual(report.failures, { cancelled: 6 });
  });

  it('report prints the server facts and planning numbers', async () => {
    const result = await cli('report', '--config', config10);
    assert.equal(result.code, 0, result.stderr);
    assert.match(
      result.stdout,
      /^Server\s+max_connections 30, superuser_reserved_connections 3 -> 27 usable/m,
    );
    assert.match(
      result.stdout,
      /^Planning\s+guaranteed capacity: 10 concurrent agents \(project pool, what the servers can give now\)$/m,
    );
    assert.match(
      result.stdout,
      /^Planning\s+burst capacity: 14 concurrent agents \(project \+ shared, what the servers can give now\)$/m,
    );
    assert.match(result.stdout, /^Planning\s+headroom: 67% above the 6-agent target \(4 agents\)$/m);
    const json = JSON.parse((await cli('report', '--config', config10, '--json')).stdout);
    assert.equal(json.guaranteedCapacity, 10);
    assert.equal(json.servers[0].budget.maxConnections, 30);
    assertNoSecrets(result);
  });

  it('bad input: one line, exit 2, no stack trace, no password', async () => {
    assertSetupFailure(
      await cli('test', '5', '--config', path.join(workspace, 'missing.yaml')),
      /cannot read .*missing\.yaml: no such file/,
    );
    assertSetupFailure(
      await cli('report', '--config', path.join(workspace, 'missing.yaml')),
      /cannot read .*missing\.yaml: no such file/,
    );
    const wrong = writeConfig('wrong', { projectSize: 10, password: 'wrong-Pw-777' });
    assertSetupFailure(
      await cli('test', '5', '--config', wrong),
      /cannot reach the project pool's server app@127\.0\.0\.1:\d+\/postgres: authentication failed \(28P01\)/,
    );
    assertSetupFailure(
      await cli('report', '--config', wrong),
      /project pool: auth-failed: cannot connect to app@127\.0\.0\.1:\d+\/postgres: authentication failed \(28P01/,
    );
    const closed = writeConfig('closed', { projectSize: 10, port: 1 });
    assertSetupFailure(await cli('test', '5', '--config', closed), /connection refused/);
    assertSetupFailure(await cli('test', '5', '--mode', 'sideways', '--config', config10), /--mode/);
    assertSetupFailure(
      await cli('test', '5', '--burst', '--rounds', '3', '--config', config10),
      /--burst or --rounds/,
    );
  });
});
