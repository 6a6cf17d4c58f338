/**
 * The CLI's pictures for CI: `report --html`, `test --html`, `test --sweep` and `--save`, the built
 * CLI (dist/cli.js) against a real PostgreSQL. The HTML's figures are read from its embedded model
 * and compared with what the server really has; Chromium opens the files in the e2e layer.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { spawnCli } from '../../harness/cliProcess';
import { writePoolConfig } from '../../harness/configFixture';
import { type Cluster, startCluster } from '../../harness/pgCluster';
import type { DashboardModel, SweepReport } from '../../shared/dashboard';

const APP_PASSWORD = 'dash-App-Pw-51c0';
const SHARED_PASSWORD = 'dash-Shared-Pw-9e3d';

let cluster: Cluster;
let workspace: string;

const cli = (...args: string[]) => spawnCli(args, { cwd: workspace }).done;

/** The model the HTML report carries, and the page itself. */
function readReport(file: string): { html: string; model: DashboardModel } {
  const html = readFileSync(file, 'utf8');
  const json = /<script type="application\/json" id="dashboard-data">([\s\S]*?)<\/script>/.exec(html);
  assert.ok(json, `${file} carries no dashboard data`);
  return { html, model: JSON.parse(json[1]!) as DashboardModel };
}

function assertSelfContained(html: string): void {
  assert.doesNotMatch(html, /<script[^>]+\bsrc=|<link\b|<iframe\b/i);
  assert.match(
    html,
    /<meta http-equiv="Content-Security-Policy" content="default-src 'none'; script-src 'sha256-/,
  );
  // The inlined dashboard bundle really is there (Chart.js included), not a stub.
  assert.ok(html.length > 100_000, `only ${html.length} characters`);
  for (const secret of [APP_PASSWORD, SHARED_PASSWORD])
    assert.ok(!html.includes(secret), 'a password in the HTML');
}

describe('pool-capacity HTML reports, sweep and saved runs (max_connections 30)', {
  timeout: 180_000,
}, () => {
  before(async () => {
    cluster = await startCluster({ maxConnections: 30, superuserReservedConnections: 3 });
    await cluster.createRole('app', { password: APP_PASSWORD });
    await cluster.createRole('shared_user', { password: SHARED_PASSWORD });
    workspace = mkdtempSync(path.join(os.tmpdir(), 'pool-capacity-dash-'));
    writePoolConfig(workspace, {
      maxAgents: 6,
      backend: false,
      env: { APP_DB_PASSWORD: APP_PASSWORD, SHARED_DB_PASSWORD: SHARED_PASSWORD },
      project: { port: cluster.port, poolSize: 10 },
      shared: { port: cluster.port, user: 'shared_user', password: '${SHARED_DB_PASSWORD}', poolSize: 4 },
    });
  });
  after(async () => {
    await cluster?.stop();
    if (workspace) rmSync(workspace, { recursive: true, force: true });
  });

  it('report --html: the bar of max_connections 30 holds reserved 3, others, project 10, shared 4 and free', async () => {
    const result = await cli('report', '--html', 'report.html');
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /^Budget\s+OK/m);
    assert.match(result.stderr, /wrote report\.html/);
    const { html, model } = readReport(path.join(workspace, 'report.html'));
    assertSelfContained(html);
    const bar = model.capacity!.bars[0]!;
    assert.equal(bar.limit, 30);
    assert.equal(bar.serverKey, `127.0.0.1:${cluster.port}`);
    const slots = Object.fromEntries(bar.segments.map((s) => [s.label, s.slots]));
    assert.equal(slots['reserved (superuser_reserved_connections 3)'], 3);
    assert.equal(slots['project pool'], 10);
    assert.equal(slots['shared pool'], 4);
    const others = slots['used by other clients'] ?? 0;
    assert.equal(slots.free, 30 - 3 - others - 14);
    assert.equal(
      bar.segments.reduce((n, s) => n + s.slots, 0),
      30,
    );
    // The text report's own figures: the same judgement.
    assert.match(result.stdout, new RegExp(`max_connections 30 − 3 reserved − ${others} used by others`));
    assert.equal(bar.headroomSlots, 3);
    assert.equal(bar.status, 'OK');
  });

  it('test --html: the run charted from its samples, latencies and outcomes', async () => {
    const result = await cli('test', '6', '--duration', '150', '--html', 'run.html');
    assert.equal(result.code, 0, result.stderr);
    const { html, model } = readReport(path.join(workspace, 'run.html'));
    assertSelfContained(html);
    const run = model.runs[0]!;
    assert.deepEqual(
      run.charts.map((c) => c.id),
      ['connections', 'latency', 'outcomes'],
    );
    const connections = run.charts[0]!;
    // The observer saw the run's 6 connections at some sample.
    assert.equal(Math.max(...(connections.series[0]!.values as number[])), 6);
    assert.deepEqual(run.charts[2]!.series[0]!.values, [6]);
    assert.ok(model.capacity, 'the bars are in the test report too');
  });

  it('test --sweep 2..8 --step 3 --save: three capacity tests, charted with pool size 10 and 27 usable slots', async () => {
    const result = await cli(
      'test',
      '--sweep',
      '2..8',
      '--step',
      '3',
      '--duration',
      '100',
      '--json',
      '--html',
      'sweep.html',
      '--save',
      'runs',
    );
    assert.equal(result.code, 0, result.stderr);
    const sweep = JSON.parse(result.stdout) as SweepReport;
    assert.deepEqual(
      sweep.steps.map((s) => [s.agents, s.successRate]),
      [
        [2, 1],
        [5, 1],
        [8, 1],
      ],
    );
    assert.equal(sweep.poolSize, 10);
    assert.equal(sweep.usableSlots, 27);
    assert.equal(sweep.verdict, 'PASS');
    assert.equal(readdirSync(path.join(workspace, 'runs')).length, 3);
    const { html, model } = readReport(path.join(workspace, 'sweep.html'));
    assertSelfContained(html);
    const chart = model.runs[0]!.charts[0]!;
    assert.deepEqual(chart.x, [2, 5, 8]);
    assert.deepEqual(
      chart.markers.map((m) => m.label),
      ['pool size 10', 'usable slots 27'],
    );
    // Three saved capacity runs of the same pools: one trend chart.
    assert.equal(model.trends.length, 1);
    assert.equal(model.trends[0]!.x.length, 3);
  });

  it('a sweep range that is not FROM..TO is a one-line usage error', async () => {
    const result = await cli('test', '--sweep', '10:80');
    assert.equal(result.code, 2);
    assert.equal(result.stdout, '');
    assert.match(
      result.stderr.trim(),
      /^pool-capacity: --sweep takes FROM\.\.TO, e\.g\. 10\.\.80, not "10:80"$/,
    );
    assert.ok(!existsSync(path.join(workspace, 'out.html')));
  });
});
