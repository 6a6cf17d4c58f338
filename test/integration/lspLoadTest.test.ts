import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { pathToFileURL } from 'node:url';
import { CancellationTokenSource } from 'vscode-languageserver-protocol';
import { LspSession } from '../../harness/lspSession';
import { type Cluster, startCluster } from '../../harness/pgCluster';
import {
  CapacityReportRequest,
  ListConfigsRequest,
  LoadTestProgressNotification,
  type LoadTestProgressParams,
  RunLoadTestRequest,
  type RunLoadTestResult,
} from '../../shared/protocol';

const PASSWORD = 'lsp-load-Secret-5d';

describe('load tests and the capacity report through the language server', () => {
  let cluster: Cluster;
  let dir: string;
  let uri: string;
  let lsp: LspSession;

  before(async () => {
    cluster = await startCluster({ maxConnections: 40 });
    await cluster.createRole('agent', { password: PASSWORD });
    dir = await mkdtemp(join(tmpdir(), 'pool-capacity-lsp-load-'));
    await mkdir(join(dir, '.claude-flow'));
    const configPath = join(dir, '.claude-flow', 'config.yaml');
    uri = pathToFileURL(configPath).toString();
    await writeFile(
      configPath,
      `swarm:\n  maxAgents: 6\nmemory:\n  postgresql:\n    project:\n      host: 127.0.0.1\n      port: ${cluster.port}\n      database: postgres\n      user: agent\n      password: \${AGENT_PW}\n      poolSize: 8\n`,
    );
    await writeFile(join(dir, '.env'), `AGENT_PW=${PASSWORD}\n`);
    lsp = new LspSession({ workspace: dir });
    await lsp.initialize();
  });

  after(async () => {
    await lsp?.close();
    await rm(dir, { recursive: true, force: true });
    await cluster?.stop();
  });

  it('lists the config with its target and pools', async () => {
    const configs = await lsp.connection.sendRequest(ListConfigsRequest.type, {});
    assert.deepEqual(configs, [
      {
        uri,
        targetAgents: 6,
        pools: [{ name: 'project', poolSize: 8, server: `127.0.0.1:${cluster.port}` }],
      },
    ]);
  });

  it('runs a capacity test with progress and returns the table, password-free', async () => {
    const progress: unknown[] = [];
    const listener = lsp.connection.onNotification(LoadTestProgressNotification.type, (p) =>
      progress.push(p),
    );
    const result = (await lsp.connection.sendRequest(RunLoadTestRequest.type, {
      configUri: uri,
      options: { shape: 'capacity', durationMs: 50 },
      progressId: 'p1',
    })) as RunLoadTestResult;
    listener.dispose();
    assert.equal(result.outcome, 'done');
    if (result.outcome !== 'done') return;
    assert.equal(result.report.agents, 6, 'the target is the default agent count');
    assert.equal(result.report.succeeded, 6);
    assert.equal(result.report.leftover, 0);
    assert.match(result.table, /^PASS\s+capacity\s+6\s+100%/m);
    assert.ok(progress.length > 0);
    assert.ok(!JSON.stringify(result).includes(PASSWORD));
  });

  it('refuses a test that would take the last free slots, and runs it when forced', async () => {
    const params = {
      configUri: uri,
      options: { shape: 'capacity' as const, agents: 40, mode: 'direct' as const, durationMs: 300 },
      progressId: 'p2',
    };
    const refused = (await lsp.connection.sendRequest(RunLoadTestRequest.type, params)) as RunLoadTestResult;
    assert.equal(refused.outcome, 'refused');
    // Why, in words true on every surface: the way ahead is the client's ("Run anyway"), not the CLI's --force.
    if (refused.outcome === 'refused') {
      assert.match(
        refused.message,
        /^Load test refused: it would hold up to 40 agents \+ 1 observer connection = 41 connections .*\.$/,
      );
      assert.doesNotMatch(refused.message, /--force|CLI|editor/);
    }
    const forced = (await lsp.connection.sendRequest(RunLoadTestRequest.type, {
      ...params,
      options: { ...params.options, force: true },
    })) as RunLoadTestResult;
    assert.equal(forced.outcome, 'done');
    if (forced.outcome === 'done') {
      assert.ok(forced.report.failed > 0);
      assert.ok(
        Object.keys(forced.report.failures).every(
          (c) => c.startsWith('reserved') || c === 'too-many-clients',
        ),
        JSON.stringify(forced.report.failures),
      );
    }
    assert.equal(await cluster.waitForConnections('pool-capacity/', 0, { prefix: true }), 0);
  });

  it('cancelling the request ends the test and closes its connections within a second', async () => {
    const source = new CancellationTokenSource();
    const request = lsp.connection.sendRequest(
      RunLoadTestRequest.type,
      { configUri: uri, options: { shape: 'sustained', rounds: 50, durationMs: 300 }, progressId: 'p3' },
      source.token,
    );
    await lsp.waitForNotification<LoadTestProgressParams>(
      LoadTestProgressNotification.method,
      (p) => p.progressId === 'p3' && p.done > 0,
    );
    assert.ok((await cluster.countConnections('pool-capacity/', { prefix: true })) > 0);
    source.cancel();
    await request.catch(() => undefined);
    const left = await cluster.waitForConnections('pool-capacity/', 0, { prefix: true, timeoutMs: 1000 });
    assert.equal(left, 0);
  });

  it('returns the capacity report with the planning numbers', async () => {
    const { text } = await lsp.connection.sendRequest(CapacityReportRequest.type, { configUri: uri });
    assert.match(text, /max_connections\s+40/);
    assert.match(text, /[Gg]uaranteed capacity/);
    assert.ok(!text.includes(PASSWORD));
  });
});
