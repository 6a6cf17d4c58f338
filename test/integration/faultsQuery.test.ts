/**
 * A query on a server that stops answering after the login ends at the query timeout (twice the
 * connect timeout, at least 2 s: openConnection.ts queryTimeoutMs): the built CLI against a real
 * PostgreSQL through the loopback fault proxy, which passes the login and then drops every answer
 * to the chosen query, as a server frozen with that query in flight would; and against the server
 * really frozen with SIGSTOP, the proxy holding the query until the freeze so that it is the query,
 * not the connect, that meets the frozen server. Each test asserts a bound (generous for busy
 * 2-core machines, but finite), the classified message and that none of our connections is left
 * afterwards (after the thaw).
 */
import assert from 'node:assert/strict';
import { after, afterEach, before, describe, it } from 'node:test';
import { parseJson } from '../../harness/cliProcess';
import { FaultBench } from '../../harness/faultBench';
import type { Cluster } from '../../harness/pgCluster';

const PASSWORD = 'faults-query-Pw-93d1e7';
/** Every child process is killed after this, so a regression fails the test instead of hanging the suite. */
const CHILD_LIMIT_MS = 30_000;
/** --connect-timeout for these runs: the query timeout is then 2000 ms (and the probe's deadline 6000 ms). */
const CONNECT_TIMEOUT_MS = 1000;
const QUERY_TIMEOUT_MS = 2000;
/** What a busy machine may add to the query timeout: the close, the leftover count, the process's own start. */
const SLACK_MS = 5000;
/**
 * On a frozen server the closes wait out their bound (openConnection.ts CLOSE_TIMEOUT_MS) and a
 * load test's leftover count its own (runObserver.ts LEFTOVER_COUNT_MS).
 */
const FROZEN_EXTRA_MS = 1000 + 2000;

const bench = new FaultBench({
  maxConnections: 20,
  password: PASSWORD,
  prefix: 'pool-capacity-faults-query-',
  maxAgents: 3,
  childLimitMs: CHILD_LIMIT_MS,
});
let cluster: Cluster;

const startCli = (args: string[]) => bench.startCli(args);
/** A config whose project pool reaches `port`; returns its path. */
const writeConfig = (port: number) => bench.writeConfig(port);
const proxy = () => bench.proxy('pass');

/** `check` on the config with the test's connect timeout, JSON out. */
const startCheck = (config: string) =>
  startCli(['check', config, '--connect-timeout', String(CONNECT_TIMEOUT_MS), '--json']);

/** `test 3` on the config: short holds, the test's connect timeout, JSON out. */
const startTestOfThree = (config: string) =>
  startCli([
    'test',
    '3',
    '--duration',
    '100',
    '--connect-timeout',
    String(CONNECT_TIMEOUT_MS),
    '--config',
    config,
    '--json',
  ]);

/** Polls until check() holds, at most timeoutMs. */
async function until(what: string, check: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/** Our connections on the server (runs, observer, probes), once closed ones are gone. */
const ours = () => cluster.waitForConnections('pool-capacity/', 0, { prefix: true, timeoutMs: 5000 });

before(async () => {
  await bench.start();
  cluster = bench.cluster;
});

afterEach(() => bench.afterEach());

after(() => bench.stop());

/** Freezes the server once, however many held queries ask for it. */
function freezeOnce(): () => Promise<void> {
  let freezing: Promise<void> | undefined;
  return () => {
    freezing ??= cluster.freeze();
    return freezing;
  };
}

const QUERY_TIMEOUT_TEXT =
  /cannot connect to app@127\.0\.0\.1:\d+\/postgres: query timeout \(connected, then the server did not answer a query within the query timeout\)/;

describe('a query on a server that stops answering after the login', () => {
  it("check: the probe's query ends at the query timeout, the pool is not verified (query timeout), exit 3", async (t) => {
    const freezing = await proxy();
    // The probe's first read: logged in, then no answer.
    freezing.stallAnswersTo(/current_setting\('server_version'\)/);
    const config = writeConfig(freezing.port);
    const result = await startCheck(config).done;
    t.diagnostic(`check ${result.ms} ms (query timeout ${QUERY_TIMEOUT_MS} ms, probe deadline 6000 ms)`);
    assert.equal(freezing.stalledQueries, 1, 'the probe logged in and its query was stalled');
    assert.equal(result.code, 3, result.stderr + result.stdout);
    assert.ok(result.ms < QUERY_TIMEOUT_MS + SLACK_MS, `check took ${result.ms} ms`);
    const json = parseJson(result.stdout);
    const [pool] = json.pools;
    assert.equal(pool.verified, false, JSON.stringify(pool));
    assert.equal(pool.reason, 'server-unreachable', JSON.stringify(pool));
    const found = json.diagnostics.find((d: { code: string }) => d.code === 'server-unreachable');
    assert.match(found?.message ?? result.stdout, QUERY_TIMEOUT_TEXT);
    assert.ok(!result.stdout.includes(PASSWORD));
    assert.equal(await ours(), 0);
    await until('the proxy to see every client close', () => freezing.openClients() === 0, 2000);
  });

  it("test: the agents' SELECT ends at the query timeout, each failure classified, the run ends non-zero with nothing left", async (t) => {
    const freezing = await proxy();
    // The agents' statement only: the probe and the observer's counts go on being answered.
    freezing.stallAnswersTo(/^SELECT 1$/);
    const config = writeConfig(freezing.port);
    const { done } = startTestOfThree(config);
    await until(
      'all 3 agents to be logged in with their SELECT stalled',
      () => freezing.stalledQueries >= 3,
      20_000,
    );
    const t0 = Date.now();
    const result = await done;
    const ms = Date.now() - t0;
    t.diagnostic(
      `last stalled SELECT to exit ${ms} ms, whole run ${result.ms} ms (query timeout ${QUERY_TIMEOUT_MS} ms)`,
    );
    assert.equal(freezing.stalledQueries, 3);
    assert.equal(result.code, 1, result.stderr);
    assert.ok(ms < QUERY_TIMEOUT_MS + SLACK_MS, `the run took ${ms} ms to end after the stall`);
    const json = parseJson(result.stdout);
    assert.equal(json.succeeded, 0);
    assert.deepEqual(json.failures, { 'query-timeout': 3 });
    assert.equal(json.leftover, 0);
    assert.ok(!result.stdout.includes(PASSWORD) && !result.stderr.includes(PASSWORD));
    assert.equal(await ours(), 0);
    await until('the proxy to see every client close', () => freezing.openClients() === 0, 2000);
  });
});

describe('a query in flight on a server frozen with SIGSTOP', () => {
  it("check: the probe's query ends at the query timeout, not verified (query timeout), exit 3, nothing left after the thaw", async (t) => {
    const door = await proxy();
    // The probe logs in; its first query reaches the server only once the server is frozen.
    door.stallAnswersTo(/current_setting\('server_version'\)/, freezeOnce());
    const config = writeConfig(door.port);
    const result = await startCheck(config).done;
    await cluster.thaw();
    t.diagnostic(`check ${result.ms} ms on the frozen server (query timeout ${QUERY_TIMEOUT_MS} ms)`);
    assert.equal(door.stalledQueries, 1, 'the probe logged in and its query met the frozen server');
    assert.equal(result.code, 3, result.stderr + result.stdout);
    assert.ok(result.ms < QUERY_TIMEOUT_MS + FROZEN_EXTRA_MS + SLACK_MS, `check took ${result.ms} ms`);
    const json = parseJson(result.stdout);
    assert.equal(json.pools[0].verified, false, JSON.stringify(json.pools));
    assert.equal(json.pools[0].reason, 'server-unreachable');
    const found = json.diagnostics.find((d: { code: string }) => d.code === 'server-unreachable');
    assert.match(found?.message ?? result.stdout, QUERY_TIMEOUT_TEXT);
    assert.equal(await ours(), 0);
  });

  it("test: the agents' SELECT meets the frozen server and ends at the query timeout; nothing left after the thaw", async (t) => {
    const door = await proxy();
    // Every agent logs in and sends its SELECT; the server freezes once all three are held.
    const freeze = freezeOnce();
    door.stallAnswersTo(/^SELECT 1$/, async () => {
      await until('all 3 agents to send their SELECT', () => door.stalledQueries >= 3, 15_000);
      await freeze();
    });
    const config = writeConfig(door.port);
    const { done } = startTestOfThree(config);
    await until('all 3 agents to send their SELECT', () => door.stalledQueries >= 3, 20_000);
    const t0 = Date.now();
    const result = await done;
    const ms = Date.now() - t0;
    await cluster.thaw();
    t.diagnostic(`last SELECT to exit ${ms} ms on the frozen server, whole run ${result.ms} ms`);
    assert.equal(result.code, 1, result.stderr);
    assert.ok(
      ms < QUERY_TIMEOUT_MS + FROZEN_EXTRA_MS + SLACK_MS,
      `the run took ${ms} ms to end after the freeze`,
    );
    const json = parseJson(result.stdout);
    assert.equal(json.succeeded, 0);
    assert.deepEqual(json.failures, { 'query-timeout': 3 });
    t.diagnostic(`leftover ${json.leftover}; reasons ${JSON.stringify(json.verdictReasons)}`);
    assert.equal(await ours(), 0);
  });
});
