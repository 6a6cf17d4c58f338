/**
 * The dashboard's requests through the real language server over stdio, against a real
 * PostgreSQL: the capacity bars of a config (CapacityView), the capacity sweep (RunSweep), whose
 * every step meets the load-test safety check, and the whole dashboard model (Dashboard), with every
 * run saved to the run history in the folder the client names (`initializationOptions.historyDir`).
 */
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { pathToFileURL } from 'node:url';
import { LspSession } from '../../harness/lspSession';
import { type Cluster, startCluster } from '../../harness/pgCluster';
import {
  CapacityViewRequest,
  DashboardRequest,
  LoadTestProgressNotification,
  type LoadTestProgressParams,
  RunLoadTestRequest,
  RunSweepRequest,
} from '../../shared/protocol';

const PASSWORD = 'lsp-dash-Secret-77';

describe('the dashboard requests through the language server (max_connections 16)', () => {
  let cluster: Cluster;
  let dir: string;
  let uri: string;
  let lsp: LspSession;
  let historyDir: string;

  before(async () => {
    cluster = await startCluster({ maxConnections: 16, superuserReservedConnections: 3 });
    await cluster.createRole('agent', { password: PASSWORD });
    dir = await mkdtemp(join(tmpdir(), 'pool-capacity-lsp-dash-'));
    await mkdir(join(dir, '.claude-flow'));
    const configPath = join(dir, '.claude-flow', 'config.yaml');
    uri = pathToFileURL(configPath).toString();
    await writeFile(
      configPath,
      `swarm:\n  maxAgents: 4\nmemory:\n  postgresql:\n    project:\n      host: 127.0.0.1\n      port: ${cluster.port}\n      database: postgres\n      user: agent\n      password: \${AGENT_PW}\n      poolSize: 6\n`,
    );
    await writeFile(join(dir, '.env'), `AGENT_PW=${PASSWORD}\n`);
    // Outside the workspace, as the extension's storage is.
    historyDir = join(await mkdtemp(join(tmpdir(), 'pool-capacity-lsp-history-')), 'runs');
    lsp = new LspSession({
      workspace: dir,
      initializationOptions: { trusted: true, statusNotifications: true, historyDir },
    });
    await lsp.initialize();
  });

  after(async () => {
    await lsp?.close();
    await rm(dir, { recursive: true, force: true });
    if (historyDir) await rm(join(historyDir, '..'), { recursive: true, force: true });
    await cluster?.stop();
  });

  it("returns the server's bar from the budget: reserved 3, the pool 6, the rest free", async () => {
    const { view, message } = await lsp.connection.sendRequest(CapacityViewRequest.type, { configUri: uri });
    assert.equal(message, undefined);
    const bar = view!.bars[0]!;
    assert.equal(bar.limit, 16);
    assert.equal(bar.usable, 13);
    const slots = Object.fromEntries(bar.segments.map((s) => [s.label, s.slots]));
    const others = slots['used by other clients'] ?? 0;
    assert.equal(slots['reserved (superuser_reserved_connections 3)'], 3);
    assert.equal(slots['project pool'], 6);
    assert.equal(slots.free, 16 - 3 - others - 6);
    assert.ok(!JSON.stringify(view).includes(PASSWORD));
  });

  it('answers the whole dashboard model before any run: the bar, no runs, no trend, no history', async () => {
    const model = await lsp.connection.sendRequest(DashboardRequest.type, {
      configUri: uri,
      configLabel: 'demo/config.yaml',
    });
    assert.equal(model.title, 'Pool Capacity — demo/config.yaml');
    assert.equal(model.capacityMessage, undefined);
    assert.equal(model.capacity?.configLabel, 'demo/config.yaml');
    const bar = model.capacity!.bars[0]!;
    assert.equal(bar.limit, 16);
    assert.equal(bar.usable, 13);
    assert.deepEqual(model.runs, []);
    assert.deepEqual(model.trends, []);
    await assert.rejects(readdir(historyDir), { code: 'ENOENT' });
  });

  it('sweeps 2..10 by 4 (direct) until the safety check refuses a step, keeping the steps that ran', async () => {
    const progress: LoadTestProgressParams[] = [];
    const listener = lsp.connection.onNotification(LoadTestProgressNotification.type, (p) =>
      progress.push(p),
    );
    const result = await lsp.connection.sendRequest(RunSweepRequest.type, {
      configUri: uri,
      options: { durationMs: 50, mode: 'direct' },
      range: { from: 2, to: 10, step: 4 },
      progressId: 'sweep-1',
    });
    listener.dispose();
    assert.equal(result.outcome, 'done', JSON.stringify(result));
    if (result.outcome !== 'done') return;
    // Direct mode, one connection per agent: 13 usable less a margin of 3 takes 2 and 6 agents (+ the
    // observer), not 10 + 1.
    assert.deepEqual(
      result.sweep.steps.map((s) => [s.agents, s.successRate]),
      [
        [2, 1],
        [6, 1],
      ],
    );
    assert.equal(result.sweep.stoppedAt?.agents, 10);
    assert.match(result.sweep.stoppedAt!.reason, /^refused by the safety check: /);
    assert.equal(result.sweep.usableSlots, 13);
    assert.equal(result.sweep.poolSize, 6);
    assert.equal(result.reports.length, 2);
    assert.match(result.table, /^Note\s+stopped at 10 agents: refused by the safety check/m);
    assert.ok(progress.some((p) => p.progressId === 'sweep-1' && /^step 1\/3 \(2 agents\)/.test(p.message)));
    assert.ok(!JSON.stringify(result).includes(PASSWORD));
  });

  it('refuses the sweep outright when its first step would break the margin', async () => {
    const result = await lsp.connection.sendRequest(RunSweepRequest.type, {
      configUri: uri,
      options: { durationMs: 50, mode: 'direct' },
      range: { from: 12, to: 14, step: 1 },
      progressId: 'sweep-2',
    });
    assert.equal(result.outcome, 'refused');
  });

  it('keeps each run in the history folder and answers the dashboard with the runs and the trend', async () => {
    const result = await lsp.connection.sendRequest(RunLoadTestRequest.type, {
      configUri: uri,
      options: { shape: 'capacity', agents: 3, durationMs: 50, mode: 'direct' },
      progressId: 'test-1',
    });
    assert.equal(result.outcome, 'done', JSON.stringify(result));
    if (result.outcome !== 'done') return;
    // The sweep's two steps and this test: one report file each, nothing of the refused sweep.
    const files = (await readdir(historyDir)).sort();
    assert.equal(files.length, 3, files.join(', '));
    assert.ok(files.every((f) => f.endsWith('.run.json')));
    const saved = await Promise.all(
      files.map(async (f) => JSON.parse(await readFile(join(historyDir, f), 'utf8')) as { runId: string }),
    );
    assert.ok(saved.some((r) => r.runId === result.report.runId));
    for (const f of files) assert.ok(!(await readFile(join(historyDir, f), 'utf8')).includes(PASSWORD));

    // After a run the client asks without reading the servers again: the bars last read are reused.
    const model = await lsp.connection.sendRequest(DashboardRequest.type, {
      configUri: uri,
      configLabel: 'demo/config.yaml',
      readServers: false,
    });
    assert.equal(model.capacity!.bars[0]!.limit, 16);
    // Newest first: this test, then the sweep.
    assert.deepEqual(
      model.runs.map((r) => r.runId),
      [result.report.runId, model.runs[1]!.runId],
    );
    assert.match(model.runs[0]!.title, /^Capacity test .*: 3 agents, /);
    assert.match(model.runs[1]!.title, /^Capacity sweep .*: 2\.\.10 step 4, /);
    // The three capacity runs of the same pools make one trend line of three points.
    assert.equal(model.trends.length, 1);
    assert.match(model.trends[0]!.title, /^Trend: capacity runs of .* \(3 runs\)$/);
    assert.deepEqual(model.trends[0]!.series[0]!.values, [100, 100, 100]);
    assert.ok(!JSON.stringify(model).includes(PASSWORD));
  });
});
