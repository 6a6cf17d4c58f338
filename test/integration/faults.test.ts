/**
 * Under faults nothing hangs and nothing is left: the built CLI and the real language server
 * against a real PostgreSQL, through a loopback proxy that stalls, loses the close, sends garbage
 * or cuts the connection, and against a server frozen with SIGSTOP. Each test asserts a bound
 * (generous for busy 2-core machines, but finite), the classified message and that none of the
 * run's connections is left afterwards.
 */
import assert from 'node:assert/strict';

import path from 'node:path';
import { after, afterEach, before, describe, it } from 'node:test';
import { pathToFileURL } from 'node:url';
import { CancellationTokenSource } from 'vscode-languageserver-protocol';
import { parseJson } from '../../harness/cliProcess';
import { FaultBench } from '../../harness/faultBench';
import { LspWorkspaces } from '../../harness/lspWorkspaces';
import type { Cluster } from '../../harness/pgCluster';
import {
  ListConfigsRequest,
  RefreshServerInfoRequest,
  RunLoadTestRequest,
  type RunLoadTestResult,
  StatusNotification,
  type StatusParams,
} from '../../shared/protocol';

const PASSWORD = 'faults-Pw-5e81c2';
/** Every child process is killed after this, so a regression fails the test instead of hanging the suite. */
const CHILD_LIMIT_MS = 30_000;

const bench = new FaultBench({
  maxConnections: 40,
  password: PASSWORD,
  prefix: 'pool-capacity-faults-',
  maxAgents: 4,
  childLimitMs: CHILD_LIMIT_MS,
});
let cluster: Cluster;

const startCli = (args: string[]) => bench.startCli(args);
/** A config whose project pool reaches `port` (a proxy or the cluster itself); returns its path. */
const writeConfig = (port: number, poolSize: number | string = 5) => bench.writeConfig(port, poolSize);
const proxy = (mode: Parameters<typeof bench.proxy>[0] = 'pass') => bench.proxy(mode);

/** A request's answer, or a failure after timeoutMs: no wait in these tests is unbounded. */
function within<T>(promise: Promise<T>, what: string, timeoutMs = 15_000): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    promise.finally(() => clearTimeout(timer)),
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`no answer to ${what} within ${timeoutMs} ms`)), timeoutMs);
    }),
  ]);
}

/** Polls until check() holds, at most timeoutMs. */
async function until(
  what: string,
  check: () => boolean | Promise<boolean>,
  timeoutMs = 10_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

/** Our connections on the server (runs, observer, probes, status), once closed ones are gone. */
const ours = (expected = 0, timeoutMs = 5000) =>
  cluster.waitForConnections('pool-capacity/', expected, { prefix: true, timeoutMs });

function assertNoSecret(...texts: string[]) {
  for (const text of texts) assert.ok(!text.includes(PASSWORD), 'password in output');
}

before(async () => {
  await bench.start();
  cluster = bench.cluster;
});

afterEach(() => bench.afterEach());

after(() => bench.stop());

describe('CLI under faults', () => {
  it('a network path that loses the close: check, report and test still end, with their verdicts', async (t) => {
    const lossy = await proxy('drop-close');
    const config = writeConfig(lossy.port);

    const check = await startCli(['check', config]).done;
    assert.equal(check.code, 0, check.stderr + check.stdout);
    assert.match(check.stdout, /0 errors, 0 warnings/);
    assert.ok(check.ms < 8000, `check took ${check.ms} ms`);
    t.diagnostic(`check ${check.ms} ms`);

    const report = await startCli(['report', '--config', config]).done;
    assert.equal(report.code, 0, report.stderr);
    assert.match(report.stdout, /max_connections 40/, report.stdout);
    assert.ok(report.ms < 8000, `report took ${report.ms} ms`);
    t.diagnostic(`report ${report.ms} ms`);

    const test = await startCli(['test', '4', '--duration', '100', '--config', config, '--json']).done;
    assert.equal(test.code, 0, test.stderr);
    const json = parseJson(test.stdout);
    assert.equal(json.succeeded, 4);
    assert.equal(json.leftover, 0);
    assert.ok(test.ms < 10_000, `test took ${test.ms} ms`);
    t.diagnostic(`test ${test.ms} ms`);
    assertNoSecret(check.stdout, report.stdout, test.stdout, test.stderr);
    assert.equal(await ours(), 0);
  });

  it('a server frozen with SIGSTOP while agents hold: one Ctrl-C ends the test within a bound', async (t) => {
    const config = writeConfig(cluster.port);
    const { child, done } = startCli(['test', '5', '--duration', '30000', '--config', config, '--json']);
    // 5 agents + the observer.
    await until(
      'the run to hold its connections',
      async () => (await cluster.countConnections('pool-capacity/', { prefix: true })) >= 6,
    );
    await cluster.freeze();
    const t0 = Date.now();
    child.kill('SIGINT');
    const result = await done;
    const ms = Date.now() - t0;
    await cluster.thaw();
    assert.equal(result.code, 130, result.stderr);
    assert.ok(ms < 3000, `Ctrl-C took ${ms} ms to end the test`);
    t.diagnostic(`Ctrl-C to exit ${ms} ms`);
    const json = parseJson(result.stdout);
    assert.equal(json.cancelled, true);
    assert.deepEqual(json.failures, { cancelled: 5 });
    assert.equal(await ours(), 0);
  });

  it('a path that stalls mid-test: one Ctrl-C ends it, and nothing of the run is left', async (t) => {
    const stalling = await proxy();
    const config = writeConfig(stalling.port);
    const { child, done } = startCli(['test', '5', '--duration', '30000', '--config', config, '--json']);
    await until(
      'the run to hold its connections',
      async () => (await cluster.countConnections('pool-capacity/', { prefix: true })) >= 6,
    );
    stalling.mode = 'stall';
    const t0 = Date.now();
    child.kill('SIGINT');
    const result = await done;
    const ms = Date.now() - t0;
    assert.equal(result.code, 130, result.stderr);
    assert.ok(ms < 3000, `Ctrl-C took ${ms} ms to end the test`);
    t.diagnostic(`Ctrl-C to exit ${ms} ms`);
    assert.equal(parseJson(result.stdout).cancelled, true);
    assert.equal(await ours(), 0);
    await until('the proxy to see every client close', () => stalling.openClients() === 0, 2000);
  });

  it('a connection cut mid-test: agents fail as connection-lost, the run ends and counts nothing left', async (t) => {
    const cutting = await proxy();
    const config = writeConfig(cutting.port);
    const { done } = startCli(['test', '5', '--duration', '20000', '--config', config, '--json']);
    await until(
      'the run to hold its connections',
      async () => (await cluster.countConnections('pool-capacity/', { prefix: true })) >= 6,
    );
    const t0 = Date.now();
    cutting.cutAll();
    const result = await done;
    const ms = Date.now() - t0;
    assert.equal(result.code, 1, result.stderr);
    assert.ok(ms < 6000, `the run took ${ms} ms to end after the cut`);
    t.diagnostic(`cut to exit ${ms} ms`);
    const json = parseJson(result.stdout);
    assert.deepEqual(json.failures, { 'connection-lost': 5 });
    assert.equal(json.leftover, 0);
    assert.equal(await ours(), 0);
  });

  it('garbage instead of PostgreSQL: check classifies it within the connect timeout, and exits', async (t) => {
    const babbling = await proxy('garbage');
    const config = writeConfig(babbling.port);
    const result = await startCli(['check', config, '--connect-timeout', '1000', '--json']).done;
    assert.ok(result.ms < 8000, `check took ${result.ms} ms`);
    t.diagnostic(`check ${result.ms} ms`);
    const json = parseJson(result.stdout);
    // With sslmode prefer (libpq's default) the garbage meets the SSL negotiation: a TLS failure.
    const unverified = json.diagnostics.find((d: { code: string }) =>
      ['server-unreachable', 'tls-failed'].includes(d.code),
    );
    assert.ok(unverified, result.stdout);
    assert.match(unverified.message, /cannot connect to app@127\.0\.0\.1:\d+\/postgres: /);
    await until('the proxy to see every client close', () => babbling.openClients() === 0, 2000);
  });

  it('a frozen server: check ends at the connect timeout with a classified message', async (t) => {
    const config = writeConfig(cluster.port);
    await cluster.freeze();
    const result = await startCli(['check', config, '--connect-timeout', '1000', '--json']).done;
    await cluster.thaw();
    assert.ok(result.ms < 6000, `check took ${result.ms} ms`);
    t.diagnostic(`check ${result.ms} ms`);
    const found = parseJson(result.stdout).diagnostics.find(
      (d: { code: string }) => d.code === 'server-unreachable',
    );
    assert.match(found?.message ?? result.stdout, /connect timeout|timeout expired/);
    assert.equal(await ours(), 0);
  });

  it('Ctrl-C while the probe waits on a host that never answers: abandoned at once, not at the connect timeout', async (t) => {
    const silent = await proxy('stall');
    const config = writeConfig(silent.port);
    const { child, done } = startCli(['test', '3', '--connect-timeout', '20000', '--config', config]);
    await until('the probe to connect', () => silent.accepted > 0);
    const t0 = Date.now();
    child.kill('SIGINT');
    const result = await done;
    const ms = Date.now() - t0;
    assert.equal(result.code, 130, result.stderr);
    assert.match(result.stderr, /cancelled before the test started/);
    assert.ok(ms < 2000, `Ctrl-C took ${ms} ms`);
    t.diagnostic(`Ctrl-C to exit ${ms} ms (connect timeout 20000 ms)`);
  });

  it('immediate shutdown of the server mid-test: the run ends at once, classified, and says the server is down', async (t) => {
    const config = writeConfig(cluster.port);
    const { done } = startCli(['test', '5', '--duration', '20000', '--config', config, '--json']);
    await until(
      'the run to hold its connections',
      async () => (await cluster.countConnections('pool-capacity/', { prefix: true })) >= 6,
    );
    const t0 = Date.now();
    await cluster.kill();
    const result = await done;
    const ms = Date.now() - t0;
    try {
      assert.equal(result.code, 1, result.stderr);
      assert.ok(ms < 6000, `the run took ${ms} ms to end after the shutdown`);
      t.diagnostic(`shutdown to exit ${ms} ms`);
      const json = parseJson(result.stdout);
      assert.equal(json.succeeded, 0);
      assert.equal(json.failed, 5);
      for (const cls of Object.keys(json.failures)) assert.match(cls, /connection-lost|server-starting/);
      assert.ok(
        json.verdictReasons.some((r: string) => /was down after the run/.test(r)),
        JSON.stringify(json.verdictReasons),
      );
    } finally {
      await cluster.restart();
    }
    assert.equal(await ours(), 0);
  });

  it('an absurd poolSize with --force is refused before any connection or allocation', async (t) => {
    const counting = await proxy();
    const config = writeConfig(counting.port, '9007199254740992');
    const result = await startCli(['test', '3', '--force', '--config', config]).done;
    assert.equal(result.code, 2, result.stderr);
    assert.match(result.stderr, /poolSize 9007199254740992 is above 10,000/);
    assert.doesNotMatch(result.stderr, /Invalid array length|\n\s+at /);
    assert.ok(result.ms < 5000, `took ${result.ms} ms`);
    t.diagnostic(`refused in ${result.ms} ms (whole CLI run)`);
    assert.equal(counting.accepted, 0, 'no connection may be attempted');
  });
});

describe('language server under faults', () => {
  const lsps = new LspWorkspaces();
  const session = (dir: string, settings: Record<string, unknown>) =>
    lsps.session({ workspace: dir, settings });
  afterEach(() => lsps.closeSessions());
  const workspaceOf = (config: string) => path.dirname(path.dirname(config));
  const uriOf = (config: string) => pathToFileURL(config).toString();
  const unreachable = (d: { code?: unknown }[]) => d.some((x) => x.code === 'server-unreachable');

  it('a probe whose close is lost: the config gets its verdict, Refresh always answers, nothing stays open', async (t) => {
    const lossy = await proxy('drop-close');
    const config = writeConfig(lossy.port, 50);
    const lsp = session(workspaceOf(config), { statusPollIntervalMs: 0, connectTimeoutMs: 1000 });
    await lsp.initialize();
    // poolSize 50 on max_connections 40: the verdict needs the server's facts.
    await lsp.waitForDiagnostics(uriOf(config), (d) => d.some((x) => x.code === 'pool-exceeds-server'));
    for (let i = 0; i < 3; i++) {
      const t0 = Date.now();
      const answer = await within(lsp.connection.sendRequest(RefreshServerInfoRequest.type, {}), 'Refresh');
      assert.equal(answer.configs, 1);
      assert.ok(Date.now() - t0 < 6000, `Refresh took ${Date.now() - t0} ms`);
      t.diagnostic(`Refresh answered in ${Date.now() - t0} ms`);
    }
    await lsp.waitForDiagnostics(uriOf(config), (d) => d.some((x) => x.code === 'pool-exceeds-server'));
    await until('every probe socket to be closed', () => lossy.openClients() === 0, 3000);
    assert.equal(await ours(), 0);
  });

  it('an unreachable server that comes back: its diagnostic clears by itself, without an edit or save', async (t) => {
    const door = await proxy();
    const config = writeConfig(door.port);
    await door.stopListening();
    const lsp = session(workspaceOf(config), { statusPollIntervalMs: 0, connectTimeoutMs: 1000 });
    await lsp.initialize();
    const down = await lsp.waitForDiagnostics(uriOf(config), unreachable);
    assert.match(down.find((d) => d.code === 'server-unreachable')!.message, /connection refused/);
    await door.listen();
    const t0 = Date.now();
    // The first re-probe comes 2 s after the failure, the next 4 s later: well within 10 s.
    await lsp.waitForDiagnostics(uriOf(config), (d) => !unreachable(d), 10_000);
    assert.ok(Date.now() - t0 < 10_000);
    t.diagnostic(`cleared ${Date.now() - t0} ms after the server came back`);
  });

  it('with status polling on, diagnostics follow the status bar within a poll interval', async (t) => {
    const door = await proxy();
    const config = writeConfig(door.port);
    const lsp = session(workspaceOf(config), { statusPollIntervalMs: 200, connectTimeoutMs: 1000 });
    await lsp.initialize();
    await lsp.waitForDiagnostics(uriOf(config), (d) => !unreachable(d));
    await door.stopListening();
    // The status poll loses the server; the diagnostics learn it too, without an edit.
    await lsp.waitForDiagnostics(uriOf(config), unreachable, 5000);
    lsp.notifications.length = 0;
    await door.listen();
    await lsp.waitForNotification<StatusParams>(
      StatusNotification.method,
      (s) => s.servers[0]?.state === 'ok',
      5000,
    );
    const t0 = Date.now();
    await lsp.waitForDiagnostics(uriOf(config), (d) => !unreachable(d), 5000);
    // One poll interval plus a probe, with room for a busy machine.
    assert.ok(Date.now() - t0 < 2000, `diagnostics lagged the status bar by ${Date.now() - t0} ms`);
    t.diagnostic(`diagnostics followed the status bar after ${Date.now() - t0} ms`);
  });

  it('cancelling a load test on a frozen server answers within a bound and leaves nothing', async (t) => {
    const config = writeConfig(cluster.port);
    const lsp = session(workspaceOf(config), { statusPollIntervalMs: 0 });
    await lsp.initialize();
    await lsp.waitForDiagnostics(uriOf(config), (d) => !unreachable(d));
    const source = new CancellationTokenSource();
    const request = lsp.connection.sendRequest(
      RunLoadTestRequest.type,
      {
        configUri: uriOf(config),
        options: { shape: 'capacity', agents: 5, durationMs: 30_000 },
        progressId: 'frozen',
      },
      source.token,
    );
    await until(
      'the run to hold its connections',
      async () => (await cluster.countConnections('pool-capacity/', { prefix: true })) >= 6,
    );
    await cluster.freeze();
    const t0 = Date.now();
    source.cancel();
    const result = (await within(request, 'the cancelled load test').catch((error: Error) => ({
      outcome: 'error',
      message: error.message,
    }))) as RunLoadTestResult;
    const ms = Date.now() - t0;
    await cluster.thaw();
    assert.ok(ms < 3000, `the cancel took ${ms} ms to answer`);
    t.diagnostic(`cancel answered in ${ms} ms`);
    assert.ok(result.outcome === 'done' || result.outcome === 'error', JSON.stringify(result));
    assert.equal(await ours(), 0);
  });

  it('cancelling a load test whose probe waits on a silent host answers at once', async (t) => {
    const silent = await proxy();
    const config = writeConfig(silent.port);
    const lsp = session(workspaceOf(config), { statusPollIntervalMs: 0, connectTimeoutMs: 20_000 });
    await lsp.initialize();
    await within(lsp.connection.sendRequest(ListConfigsRequest.type, {}), 'ListConfigs');
    // The host stops answering: the load test's own probe hangs in its connect.
    silent.mode = 'stall';
    silent.resetCounts();
    const source = new CancellationTokenSource();
    const request = lsp.connection.sendRequest(
      RunLoadTestRequest.type,
      { configUri: uriOf(config), options: { shape: 'capacity', agents: 3 }, progressId: 'silent' },
      source.token,
    );
    await until('the load test probe to connect', () => silent.accepted > 0);
    const t0 = Date.now();
    source.cancel();
    const result = (await within(request, 'the cancelled load test')) as RunLoadTestResult;
    const ms = Date.now() - t0;
    assert.equal(result.outcome, 'error', JSON.stringify(result));
    assert.match((result as { message: string }).message, /[Cc]ancel/);
    assert.ok(ms < 2000, `the cancel took ${ms} ms to answer`);
    t.diagnostic(`cancel answered in ${ms} ms (connect timeout 20000 ms)`);
    await until('the abandoned probe socket to close', () => silent.openClients() === 0, 2000);
  });

  it('an absurd poolSize forced over LSP: a clear error, no connection, no allocation', async () => {
    const counting = await proxy();
    const config = writeConfig(counting.port, '9007199254740992');
    const lsp = session(workspaceOf(config), { statusPollIntervalMs: 0 });
    await lsp.initialize();
    // Answers once the config's validation (its probe included) has finished.
    await within(lsp.connection.sendRequest(ListConfigsRequest.type, {}), 'ListConfigs');
    await until('the probe to close', () => counting.openClients() === 0, 3000);
    counting.resetCounts();
    const result = (await within(
      lsp.connection.sendRequest(RunLoadTestRequest.type, {
        configUri: uriOf(config),
        options: { shape: 'capacity', agents: 3, force: true },
        progressId: 'absurd',
      }),
      'the load test',
    )) as RunLoadTestResult;
    assert.equal(result.outcome, 'error', JSON.stringify(result));
    assert.match((result as { message: string }).message, /above 10,000/);
    assert.equal(counting.accepted, 0);
    assert.equal(await ours(), 0);
  });
});
