// The failover window from agents' outcomes, and its judgement against failoverTimeout.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { classifyFailure } from '../../../server/src/core/connection/connectFailure';
import {
  type AgentEvent,
  computeFailoverWindow,
  failoverReport,
  insideWindow,
  judgeFailoverWindow,
} from '../../../server/src/core/loadtest/failoverWindow';
import { formatReportTable } from '../../../server/src/core/loadtest/reportTable';
import { leakCounts } from '../../../server/src/io/loadtest/assemble';
import { type LoadTestReport, loadTestDefaults } from '../../../shared/loadTest';

const OLD = '127.0.0.1:5001';
const NEW = '127.0.0.1:5002';
const members: Record<string, string> = { [OLD]: 'pg0', [NEW]: 'pg1' };
const memberOf = (server: string | undefined) => (server ? members[server] : undefined);
const ok = (at: number, server = OLD): AgentEvent => ({ at, ok: true, server });
const failed = (at: number, failureClass: string, server = OLD): AgentEvent => ({
  at,
  ok: false,
  server,
  failureClass,
});

describe('computeFailoverWindow', () => {
  it('last success before, first failure, first success after the last failure, each on its member', () => {
    const window = computeFailoverWindow(
      [
        ok(1000),
        ok(1200),
        failed(1300, 'admin-shutdown'),
        failed(1310, 'admin-shutdown'),
        failed(2000, 'read-only'),
        ok(2900, NEW),
        ok(3000, NEW),
      ],
      memberOf,
    );
    assert.deepEqual(window, {
      lastSuccessBefore: { at: 1200, member: 'pg0' },
      firstFailure: { at: 1300, member: 'pg0', class: 'admin-shutdown' },
      lastFailure: { at: 2000, member: 'pg0', class: 'read-only' },
      firstSuccessAfter: { at: 2900, member: 'pg1' },
      outageMs: 1600,
      gapMs: 1700,
      failures: { 'admin-shutdown': 2, 'read-only': 1 },
    });
  });

  it('events out of order are read in time order; a success between failures does not end the window', () => {
    const window = computeFailoverWindow(
      [ok(2500, NEW), failed(2000, 'connection-refused'), ok(1500), failed(1000, 'connection-lost'), ok(900)],
      memberOf,
    );
    assert.equal(window?.lastSuccessBefore?.at, 900);
    assert.equal(window?.firstSuccessAfter?.at, 2500);
    assert.equal(window?.gapMs, 1600);
  });

  it('no window when no failure looks like a lost leader (capacity failures are not the window)', () => {
    assert.equal(
      computeFailoverWindow([ok(1), failed(2, 'pool-exhausted'), failed(3, 'too-many-clients')], memberOf),
      undefined,
    );
  });

  it('not recovered: no success after, no outage figures; no success before: no gap', () => {
    const window = computeFailoverWindow([failed(1000, 'connect-timeout', NEW)], memberOf);
    assert.deepEqual(window, {
      firstFailure: { at: 1000, member: 'pg1', class: 'connect-timeout' },
      lastFailure: { at: 1000, member: 'pg1', class: 'connect-timeout' },
      failures: { 'connect-timeout': 1 },
    });
  });

  it('a member the REST API never listed is left unnamed', () => {
    const window = computeFailoverWindow(
      [ok(1, '10.0.0.9:5432'), failed(2, 'connection-lost', '10.0.0.9:5432')],
      memberOf,
    );
    assert.deepEqual(window?.firstFailure, { at: 2, class: 'connection-lost' });
  });

  it('insideWindow: only failover-class failures between the first and the last failure', () => {
    const window = computeFailoverWindow(
      [ok(0), failed(10, 'admin-shutdown'), failed(20, 'read-only'), ok(30)],
      memberOf,
    );
    assert.equal(insideWindow(window, failed(15, 'connection-refused')), true);
    assert.equal(insideWindow(window, failed(15, 'too-many-clients')), false);
    assert.equal(insideWindow(window, failed(25, 'connection-refused')), false);
    assert.equal(insideWindow(window, ok(15)), false);
    assert.equal(insideWindow(undefined, failed(15, 'connection-refused')), false);
  });
});

describe('judgeFailoverWindow', () => {
  const window = (gapMs: number) =>
    computeFailoverWindow([ok(0), failed(100, 'admin-shutdown'), ok(gapMs, NEW)], memberOf);

  it('PASS within failoverTimeout, naming the members and the classes', () => {
    const judged = judgeFailoverWindow(window(1700), 30, 5000);
    assert.equal(judged.verdict, 'PASS');
    assert.match(
      judged.summary,
      /^failover window 1\.7 s: last success on pg0, first failure on pg0 after 0\.1 s, first success after on pg1 1\.6 s after it \(1 terminated by the server \(57P01 admin shutdown\)\): within failoverTimeout 30 s$/,
    );
  });

  it('at the timeout exactly still passes; one ms over fails', () => {
    assert.equal(judgeFailoverWindow(window(30_000), 30, 40_000).verdict, 'PASS');
    assert.equal(judgeFailoverWindow(window(30_001), 30, 40_000).verdict, 'FAIL');
  });

  it('never recovered: FAIL once the run outlasted the timeout, WARN (not verified) when it ended inside it', () => {
    const open = computeFailoverWindow([ok(0), failed(1000, 'connection-refused')], memberOf);
    const late = judgeFailoverWindow(open, 10, 12_000);
    assert.equal(late.verdict, 'FAIL');
    assert.match(
      late.summary,
      /no agent succeeded for 11\.0 s after the first failure on pg0 \(failoverTimeout 10 s/,
    );
    const early = judgeFailoverWindow(open, 10, 4000);
    assert.equal(early.verdict, 'WARN');
    assert.match(early.summary, /not verified against failoverTimeout 10 s \(run more rounds/);
  });

  it('no window: PASS, nothing lost', () => {
    assert.deepEqual(judgeFailoverWindow(undefined, 30, 0), {
      verdict: 'PASS',
      summary: 'no agent lost the leader during the run',
    });
  });

  it('the report section and its table lines', () => {
    const section = failoverReport(
      {
        timeoutS: 30,
        leaders: [
          { member: 'pg0', server: OLD, since: 0 },
          { member: 'pg1', server: NEW, since: 1500 },
        ],
        window: window(1700),
        reconnectBurst: {
          member: 'pg1',
          wanted: 8,
          admitted: 5,
          refusals: { 'reserved-superuser': 3 },
          otherClients: 91,
          wallMs: 57,
        },
      },
      5000,
    );
    assert.equal(section.verdict, 'PASS');
    assert.match(section.summary, /^leader pg0 -> pg1; failover window 1\.7 s/);
    const report = {
      runId: 'r1',
      shape: 'sustained',
      options: { ...loadTestDefaults, shape: 'sustained', agents: 8, pool: 'patroni' },
      pools: [],
      agents: 0,
      succeeded: 0,
      failed: 0,
      successRate: 1,
      wallMs: 1,
      latencyMs: { p50: 0, p95: 0, p99: 0, max: 0, count: 0 },
      connectMs: { p50: 0, p95: 0, p99: 0, max: 0, count: 0 },
      acquireMs: { p50: 0, p95: 0, p99: 0, max: 0, count: 0 },
      failures: {},
      failureExamples: {},
      phases: [],
      peakServerConnections: 0,
      leftover: 0,
      leakDetected: false,
      cancelled: false,
      verdict: 'PASS',
      verdictReasons: [],
      startedAt: '',
      failover: section,
    } satisfies LoadTestReport;
    const lines = formatReportTable(report)
      .split('\n')
      .filter((l) => l.startsWith('Failover'));
    assert.equal(lines[0], `Failover PASS  leader pg0 (${OLD}) -> pg1 (${NEW}), failoverTimeout 30 s`);
    assert.match(lines[1]!, /^Failover last success before +\d\d:\d\d:\d\d\.\d{3} on pg0$/);
    assert.match(lines[2]!, /^Failover first failure +\d\d:\d\d:\d\d\.\d{3} on pg0 \(admin-shutdown\)$/);
    assert.match(lines[3]!, /^Failover first success after +\d\d:\d\d:\d\d\.\d{3} on pg1$/);
    assert.equal(lines[4], 'Failover window                  1.70s without a success');
    assert.equal(
      lines[5],
      'Failover reconnect burst on pg1: 5 of 8 connections admitted at once beside 91 other clients, refused: 3 reserved-superuser (57 ms)',
    );
  });
});

describe('failure classes of a lost leader', () => {
  it('57P01 admin shutdown and 25006 read-only have their own classes', () => {
    assert.equal(
      classifyFailure({ code: '57P01', message: 'terminating connection due to administrator command' })
        .class,
      'admin-shutdown',
    );
    assert.equal(
      classifyFailure({ code: '25006', message: 'cannot execute txid_current() during recovery' }).class,
      'read-only',
    );
    // An immediate shutdown's wording stays a lost connection.
    assert.equal(
      classifyFailure({ code: '57P01', message: 'terminating connection due to immediate shutdown command' })
        .class,
      'connection-lost',
    );
  });
});

describe('the leak check of a run through a failover', () => {
  const phase = (label: string, connectionsAfter: number, inFailoverWindow?: number) => ({
    label,
    agents: 8,
    succeeded: 8,
    failed: 0,
    wallMs: 1,
    connectionsAfter,
    ...(inFailoverWindow ? { inFailoverWindow } : {}),
  });
  it('compares only the rounds after the window (the pools start again on the new leader)', () => {
    const phases = [phase('round 1', 8, 8), phase('round 2', 0, 8), phase('round 3', 8), phase('round 4', 8)];
    assert.deepEqual(
      leakCounts({ results: [], phases, connectionsAfterRounds: [8, 0, 8, 8], wallMs: 1 }),
      [8, 8],
    );
  });
  it('without a window, every round', () => {
    const phases = [phase('round 1', 2), phase('round 2', 3)];
    assert.deepEqual(leakCounts({ results: [], phases, connectionsAfterRounds: [2, 3], wallMs: 1 }), [2, 3]);
  });
});
