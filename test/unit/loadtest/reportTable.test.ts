import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { formatMs, formatReportTable, summaryLine } from '../../../server/src/core/loadtest/reportTable';
import { type LoadTestReport, loadTestDefaults } from '../../../shared/loadTest';

const latency = (p50: number, max: number, count: number) => ({ p50, p95: max, p99: max, max, count });

function report(overrides: Partial<LoadTestReport> = {}): LoadTestReport {
  return {
    runId: 'abcd1234',
    shape: 'capacity',
    options: { ...loadTestDefaults, shape: 'capacity', agents: 50 },
    pools: [{ name: 'project', poolSize: 40, minSize: 2, server: 'dpg@127.0.0.1:5432/db', agents: 50 }],
    agents: 50,
    succeeded: 40,
    failed: 10,
    successRate: 0.8,
    wallMs: 540,
    latencyMs: latency(150.4, 201, 40),
    connectMs: latency(140, 199.6, 38),
    acquireMs: latency(0.004, 0.01, 2),
    failures: { 'pool-exhausted': 10 },
    failureExamples: { 'pool-exhausted': 'connection pool exhausted (all 40 connections in use)' },
    phases: [{ label: 'capacity', agents: 50, succeeded: 40, failed: 10, wallMs: 540, verdict: 'WARN' }],
    peakServerConnections: 40,
    leftover: 0,
    leakDetected: false,
    cancelled: false,
    verdict: 'WARN',
    verdictReasons: [
      'capacity, project pool: 10 agents above the pool size 40 failed as expected (10 client pool exhausted)',
    ],
    startedAt: '2026-02-11T10:00:00.000Z',
    ...overrides,
  };
}

describe('formatReportTable', () => {
  it('prints a 50-agent line on a pool of 40 as WARN with pool exhaustion, failures and latencies', () => {
    assert.equal(
      formatReportTable(report()),
      [
        'Run      abcd1234  capacity test (50 agents), hold 200 ms, mode pool, fail when exhausted  (2026-02-11T10:00:00.000Z)',
        'Pool     project size 40 (min 2), 50 agents  dpg@127.0.0.1:5432/db',
        'Test     Phase        Agents  Success  Duration  Notes',
        'WARN     capacity         50    80.0%     0.54s  10 failed, pool exhaustion',
        'Latency  agent             p50 150 ms  p95 201 ms  p99 201 ms  max 201 ms  (40)',
        'Latency  connect (cold)    p50 140 ms  p95 200 ms  p99 200 ms  max 200 ms  (38)',
        'Latency  acquire (warm)    p50 0.00 ms  p95 0.01 ms  p99 0.01 ms  max 0.01 ms  (2)',
        'Failures pool-exhausted 10: client pool exhausted ("connection pool exhausted (all 40 connections in use)")',
        'Server   peak 40 connections of this run, 0 left after it',
        'Note     capacity, project pool: 10 agents above the pool size 40 failed as expected (10 client pool exhausted)',
        'Result   WARN  40/50 agents succeeded (80.0%) in 0.54s',
      ].join('\n'),
    );
  });

  it('prints one line per burst and a total with the average burst', () => {
    const phases = Array.from({ length: 5 }, (_, i) => ({
      label: `burst ${i + 1}`,
      agents: 35,
      succeeded: 35,
      failed: 0,
      wallMs: 430,
      verdict: 'PASS' as const,
    }));
    const text = formatReportTable(
      report({
        shape: 'burst',
        options: { ...loadTestDefaults, shape: 'burst', agents: 35 },
        agents: 175,
        succeeded: 175,
        failed: 0,
        successRate: 1,
        wallMs: 2160,
        failures: {},
        failureExamples: {},
        phases,
        verdict: 'PASS',
        verdictReasons: [],
      }),
    );
    const lines = text.split('\n');
    assert.equal(
      lines[0],
      'Run      abcd1234  burst test (5 x 35 agents, 100 ms pause), hold 200 ms, mode pool, fail when exhausted  (2026-02-11T10:00:00.000Z)',
    );
    assert.deepEqual(
      lines.filter((l) => /^(PASS|WARN|FAIL|Total)/.test(l)),
      [
        'PASS     burst 1          35     100%     0.43s',
        'PASS     burst 2          35     100%     0.43s',
        'PASS     burst 3          35     100%     0.43s',
        'PASS     burst 4          35     100%     0.43s',
        'PASS     burst 5          35     100%     0.43s',
        'Total                    175     100%     2.16s  average burst 0.43s',
      ],
    );
    assert.ok(lines.includes('Failures none'));
    assert.equal(lines.at(-1), 'Result   PASS  175/175 agents succeeded (100%) in 2.16s');
  });

  it('shows connections after each round and the leak for a sustained run', () => {
    const phases = [6, 7, 8].map((after, i) => ({
      label: `round ${i + 1}`,
      agents: 6,
      succeeded: 6,
      failed: 0,
      wallMs: 210,
      connectionsAfter: after,
      verdict: 'PASS' as const,
    }));
    const lines = formatReportTable(
      report({
        shape: 'sustained',
        options: { ...loadTestDefaults, shape: 'sustained', agents: 6, rounds: 3 },
        phases,
        leakDetected: true,
        verdict: 'FAIL',
      }),
    ).split('\n');
    assert.ok(lines.includes('PASS     round 2           6     100%     0.21s  7 connections after'));
    assert.ok(lines.includes('Leak     detected: connections after each round 6 -> 7 -> 8'));
  });

  it('starts every line with a stable word for the grammar', () => {
    for (const line of formatReportTable(report()).split('\n')) {
      assert.match(line, /^(Run|Pool|Test|PASS|WARN|FAIL|Total|Latency|Failures|Leak|Server|Note|Result)\b/);
    }
  });
});

describe('summaryLine and formatMs', () => {
  it('summarises a run in one line', () => {
    assert.equal(summaryLine(report()), 'WARN capacity 50 agents: 40/50 (80.0%) in 0.54s');
    assert.equal(
      summaryLine(report({ leftover: 2, cancelled: true })),
      'WARN capacity 50 agents: 40/50 (80.0%) in 0.54s, 2 left over, cancelled',
    );
  });
  it('keeps sub-millisecond precision', () => {
    assert.equal(formatMs(0.0123), '0.01 ms');
    assert.equal(formatMs(5.55), '5.5 ms');
    assert.equal(formatMs(123.6), '124 ms');
  });
});
