import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { dashboardModel } from '../../../server/src/core/dashboard/dashboardModel';
import {
  connectionsChart,
  formatSweepTable,
  historyEntry,
  latencyChart,
  leakChart,
  outcomesChart,
  runView,
  sweepChart,
  trendCharts,
} from '../../../server/src/core/dashboard/loadTestCharts';
import type { SweepReport } from '../../../shared/dashboard';
import { type LoadTestReport, loadTestDefaults } from '../../../shared/loadTest';

const T0 = Date.parse('2026-02-11T10:00:00.000Z');
const none = { p50: 0, p95: 0, p99: 0, max: 0, count: 0 };

/** A burst test of 2 x 30 agents on a pool of 25: the second burst meets exhaustion. */
function burstReport(): LoadTestReport {
  return {
    runId: 'abcd1234',
    shape: 'burst',
    options: { ...loadTestDefaults, shape: 'burst', agents: 30, bursts: 2 },
    pools: [{ name: 'project', poolSize: 25, server: 'app@127.0.0.1:5432/db', agents: 30 }],
    agents: 60,
    succeeded: 52,
    failed: 8,
    successRate: 52 / 60,
    wallMs: 900,
    latencyMs: { p50: 12, p95: 40, p99: 41, max: 45, count: 52 },
    connectMs: { p50: 10, p95: 30, p99: 31, max: 33, count: 25 },
    acquireMs: { p50: 0.02, p95: 0.05, p99: 0.06, max: 0.07, count: 27 },
    failures: { 'pool-exhausted': 6, 'too-many-clients': 2 },
    failureExamples: {},
    phases: [
      {
        label: 'burst 1',
        agents: 30,
        succeeded: 25,
        failed: 5,
        wallMs: 400,
        verdict: 'WARN',
        startedAtMs: T0 + 100,
        connectMs: { p50: 10, p95: 30, p99: 31, max: 33, count: 25 },
        acquireMs: none,
        failures: { 'pool-exhausted': 5 },
      },
      {
        label: 'burst 2',
        agents: 30,
        succeeded: 27,
        failed: 3,
        wallMs: 300,
        verdict: 'WARN',
        startedAtMs: T0 + 600,
        connectMs: none,
        acquireMs: { p50: 0.02, p95: 0.05, p99: 0.06, max: 0.07, count: 27 },
        failures: { 'pool-exhausted': 1, 'too-many-clients': 2 },
      },
    ],
    peakServerConnections: 25,
    samples: [
      { server: '127.0.0.1:5432', at: T0, connections: 0 },
      { server: '127.0.0.1:5432', at: T0 + 250, connections: 25 },
      { server: '127.0.0.1:5432', at: T0 + 750, connections: 24 },
      { server: '127.0.0.1:5432', at: T0 + 1000, connections: 0 },
    ],
    leftover: 0,
    leakDetected: false,
    cancelled: false,
    verdict: 'WARN',
    verdictReasons: [],
    startedAt: '2026-02-11T10:00:00.000Z',
  };
}

describe('load-test chart data', () => {
  it("connections over time: the observer's samples in seconds from the first, phases as spans", () => {
    const chart = connectionsChart(burstReport())!;
    assert.deepEqual(chart.x, [0, 0.25, 0.75, 1]);
    assert.deepEqual(chart.series, [
      { label: 'connections of this run', values: [0, 25, 24, 0], tone: 'blue' },
    ]);
    assert.deepEqual(chart.spans, [
      { from: 0.1, to: 0.5, label: 'burst 1' },
      { from: 0.6, to: 0.9, label: 'burst 2' },
    ]);
    assert.deepEqual(chart.levels, [{ at: 25, label: 'pool size 25', tone: 'blue' }]);
    assert.equal(chart.xLabel, 'seconds since the run started');
    assert.equal(chart.yLabel, 'connections');
  });

  it('no samples (a report from before they were kept): no connections chart', () => {
    const { samples: _samples, ...report } = burstReport();
    assert.equal(connectionsChart(report), undefined);
  });

  it('latency per phase: cold connects and warm checkouts, null where a phase had none', () => {
    const chart = latencyChart(burstReport());
    assert.deepEqual(chart.x, ['burst 1', 'burst 2']);
    assert.deepEqual(
      chart.series.map((s) => [s.label, s.values]),
      [
        ['connect p50', [10, null]],
        ['connect p95', [30, null]],
        ['acquire p50', [null, 0.02]],
        ['acquire p95', [null, 0.05]],
      ],
    );
  });

  it('outcomes per phase: succeeded and each failure class, stacked', () => {
    const chart = outcomesChart(burstReport());
    assert.deepEqual(
      chart.series.map((s) => [s.label, s.values, s.stack]),
      [
        ['succeeded', [25, 27], 'agents'],
        ['client pool exhausted', [5, 1], 'agents'],
        ['server refusal 53300: too many clients', [0, 2], 'agents'],
      ],
    );
  });

  it('sustained: the leak line is the connections after each round', () => {
    const report: LoadTestReport = {
      ...burstReport(),
      shape: 'sustained',
      leakDetected: true,
      phases: [1, 2, 3].map((n) => ({
        label: `round ${n}`,
        agents: 6,
        succeeded: 6,
        failed: 0,
        wallMs: 200,
        connectionsAfter: 5 + n,
      })),
    };
    const chart = leakChart(report)!;
    assert.deepEqual(chart.x, ['round 1', 'round 2', 'round 3']);
    assert.deepEqual(chart.series[0]!.values, [6, 7, 8]);
    assert.equal(chart.series[0]!.tone, 'red');
    assert.match(chart.title, /leak detected/);
    assert.equal(leakChart(burstReport()), undefined);
    // Without per-phase classes the outcomes chart still shows the failures, as one series.
    assert.deepEqual(
      outcomesChart(report).series.map((s) => s.label),
      ['succeeded', 'failed'],
    );
  });

  it('a run view carries the summary line of the text report and its charts in order', () => {
    const view = runView(burstReport());
    assert.equal(view.summary, 'WARN burst 2 x 30: 52/60 (86.7%) in 0.90s');
    assert.deepEqual(
      view.charts.map((c) => c.id),
      ['connections', 'latency', 'outcomes'],
    );
  });
});

const sweep: SweepReport = {
  runId: 'feed0001',
  startedAt: '2026-02-11T10:00:00.000Z',
  options: { ...loadTestDefaults },
  range: { from: 10, to: 30, step: 10 },
  steps: [
    { agents: 10, successRate: 1, succeeded: 10, failed: 0, p95Ms: 12.5, verdict: 'PASS', runId: 'r1' },
    { agents: 20, successRate: 1, succeeded: 20, failed: 0, p95Ms: 20, verdict: 'PASS', runId: 'r2' },
    { agents: 30, successRate: 2 / 3, succeeded: 20, failed: 10, p95Ms: 21.25, verdict: 'WARN', runId: 'r3' },
  ],
  poolSize: 20,
  pools: 'project 20',
  usableSlots: 37,
  verdict: 'PASS',
};

describe('capacity sweep chart data', () => {
  it('success rate (%) and p95 against agents, the pool size and usable slots as vertical lines', () => {
    const chart = sweepChart(sweep);
    assert.deepEqual(chart.x, [10, 20, 30]);
    assert.deepEqual(chart.series[0], { label: 'success rate', values: [100, 100, 66.7], tone: 'green' });
    assert.deepEqual(chart.series[1], {
      label: 'p95 latency',
      values: [12.5, 20, 21.25],
      tone: 'orange',
      axis: 'right',
    });
    assert.deepEqual(chart.markers, [
      { at: 20, label: 'pool size 20', tone: 'blue' },
      { at: 37, label: 'usable slots 37', tone: 'red' },
    ]);
    assert.equal(chart.xLabel, 'concurrent agents');
  });

  it('the sweep as a text block in the test table columns', () => {
    assert.deepEqual(formatSweepTable(sweep).split('\n'), [
      'Run      feed0001  capacity sweep 10..30 step 10, hold 200 ms  (2026-02-11T10:00:00.000Z)',
      'Pool     project 20; pool size 20, 37 usable slots',
      'Test     Phase        Agents  Success       p95  Notes',
      'PASS     step 1           10     100%   12.5 ms  run r1',
      'PASS     step 2           20     100%   20.0 ms  run r2',
      'WARN     step 3           30    66.7%   21.3 ms  run r3, past the pool size',
      'Result   PASS  3 steps',
    ]);
  });
});

describe('run history trend', () => {
  it('one chart per config and shape with two or more runs, oldest first, pool sizes in the labels', () => {
    const a = historyEntry(burstReport());
    assert.deepEqual(a, {
      runId: 'abcd1234',
      startedAt: '2026-02-11T10:00:00.000Z',
      shape: 'burst',
      configKey: 'project@app@127.0.0.1:5432/db',
      poolSizes: 'project 25',
      agents: 30,
      successRate: 52 / 60,
      p95Ms: 40,
      verdict: 'WARN',
    });
    const b = {
      ...a,
      runId: 'b',
      startedAt: '2026-02-12T09:30:00.000Z',
      poolSizes: 'project 30',
      successRate: 1,
      p95Ms: 20,
    };
    const other = { ...a, runId: 'c', shape: 'capacity' as const };
    const charts = trendCharts([b, other, a]);
    assert.equal(charts.length, 1);
    assert.deepEqual(charts[0]!.x, [
      '02-11 10:00 project 25, 30 agents',
      '02-12 09:30 project 30, 30 agents',
    ]);
    assert.deepEqual(charts[0]!.series[0]!.values, [86.7, 100]);
    assert.deepEqual(charts[0]!.series[1]!.values, [40, 20]);
  });

  it('the model puts runs newest first and a sweep as one picture', () => {
    const model = dashboardModel({
      configLabel: 'demo/.claude-flow/config.yaml',
      runs: [sweep, burstReport()],
      now: new Date(T0),
    });
    assert.equal(model.title, 'Pool Capacity — demo/.claude-flow/config.yaml');
    assert.deepEqual(
      model.runs.map((r) => [r.runId, r.charts.map((c) => c.id)]),
      [
        ['feed0001', ['sweep']],
        ['abcd1234', ['connections', 'latency', 'outcomes']],
      ],
    );
    assert.equal(model.capacity, undefined);
  });
});
