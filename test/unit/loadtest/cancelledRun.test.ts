// A cancelled run is CANCELLED, not FAIL, unless what did run failed; and a refusal shows the sum.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { ServerFacts } from '../../../server/src/core/capacity/serverFacts';
import { formatReportTable } from '../../../server/src/core/loadtest/reportTable';
import { checkLoadTestSafety } from '../../../server/src/core/loadtest/safety';
import { judgeRun, type PoolPhaseOutcome } from '../../../server/src/core/loadtest/verdict';
import { serverDemands } from '../../../server/src/io/loadtest/engine';
import { type LoadTestReport, loadTestDefaults } from '../../../shared/loadTest';
import { settingsDefaults } from '../../../shared/settings';

const round = (n: number, overrides: Partial<PoolPhaseOutcome> = {}): PoolPhaseOutcome => ({
  phase: `round ${n}`,
  pool: 'project',
  poolSize: 10,
  agents: 6,
  succeeded: 6,
  failures: {},
  ...overrides,
});

const facts = {
  mode: 'pool' as const,
  onExhausted: 'fail' as const,
  leakDetected: false,
  connectionsAfterRounds: [6, 6],
  leftover: 0,
};

describe('a cancelled sustained run', () => {
  const cut = round(3, { succeeded: 2, failures: { cancelled: 4 } });

  it('is CANCELLED, and so is the round the cancel cut short', () => {
    const judgement = judgeRun({ ...facts, outcomes: [round(1), round(2), cut], cancelled: true });
    assert.equal(judgement.verdict, 'CANCELLED');
    assert.equal(judgement.phaseVerdicts.get('round 2'), 'PASS');
    assert.equal(judgement.phaseVerdicts.get('round 3'), 'CANCELLED');
    assert.deepEqual(judgement.reasons, ['cancelled before it finished']);
  });

  it('stays FAIL when a round that ran failed, or connections were left behind', () => {
    const failed = round(1, { succeeded: 5, failures: { 'too-many-clients': 1 } });
    assert.equal(judgeRun({ ...facts, outcomes: [failed, cut], cancelled: true }).verdict, 'FAIL');
    assert.equal(
      judgeRun({ ...facts, outcomes: [round(1), cut], cancelled: true, leftover: 1 }).verdict,
      'FAIL',
    );
    const mixed = round(3, { succeeded: 1, failures: { cancelled: 4, 'too-many-clients': 1 } });
    assert.equal(judgeRun({ ...facts, outcomes: [mixed], cancelled: true }).verdict, 'FAIL');
  });

  it('prints CANCELLED on the cut round and the result line', () => {
    const phase = (label: string, succeeded: number, verdict: 'PASS' | 'CANCELLED') => ({
      label,
      agents: 6,
      succeeded,
      failed: 6 - succeeded,
      wallMs: 200,
      connectionsAfter: 6,
      verdict,
    });
    const report: LoadTestReport = {
      runId: 'abcd1234',
      shape: 'sustained',
      options: { ...loadTestDefaults, shape: 'sustained', agents: 6, rounds: 3 },
      pools: [{ name: 'project', poolSize: 10, server: 'app@127.0.0.1:5432/db', agents: 6 }],
      agents: 18,
      succeeded: 14,
      failed: 4,
      successRate: 14 / 18,
      wallMs: 600,
      latencyMs: { p50: 1, p95: 1, p99: 1, max: 1, count: 14 },
      connectMs: { p50: 1, p95: 1, p99: 1, max: 1, count: 6 },
      acquireMs: { p50: 1, p95: 1, p99: 1, max: 1, count: 8 },
      failures: { cancelled: 4 },
      failureExamples: { cancelled: 'cancelled' },
      phases: [phase('round 1', 6, 'PASS'), phase('round 2', 6, 'PASS'), phase('round 3', 2, 'CANCELLED')],
      peakServerConnections: 7,
      leftover: 0,
      leakDetected: false,
      cancelled: true,
      verdict: 'CANCELLED',
      verdictReasons: ['cancelled before it finished'],
      startedAt: '2026-02-11T10:00:00.000Z',
    };
    const lines = formatReportTable(report).split('\n');
    assert.ok(
      lines.includes('CANCELLED round 3           6    33.3%     0.20s  4 not finished, 6 connections after'),
      lines.join('\n'),
    );
    assert.equal(lines.at(-1), 'Result   CANCELLED  14/18 agents succeeded (77.8%) in 0.60s, cancelled');
    assert.ok(!lines.some((l) => /\bFAIL\b/.test(l)), lines.join('\n'));
  });
});

describe('a load-test refusal', () => {
  it('shows the observer connection in the sum: 35 agents + 1 observer connection = 36', () => {
    const serverFacts = {
      maxConnections: 40,
      superuserReserved: 3,
      reserved: 0,
      mayUseReserved: false,
      isSuperuser: false,
      usedByOthers: 5,
    } as unknown as ServerFacts;
    const pool = {
      name: 'project',
      poolSize: 35,
      target: { host: '127.0.0.1', port: 5432, database: 'db', user: 'app' },
    } as unknown as Parameters<typeof serverDemands>[0][number]['pool'];
    const demands = serverDemands([{ pool, agents: 35, facts: serverFacts }], 'direct');
    const verdict = checkLoadTestSafety(demands, settingsDefaults);
    assert.equal(verdict.ok, false);
    assert.match(
      verdict.reasons[0]!,
      /^it would hold up to 35 agents \+ 1 observer connection = 36 connections on /,
    );
  });
});
