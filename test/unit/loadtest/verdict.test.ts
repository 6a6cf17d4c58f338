import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isSlotRefusal } from '../../../server/src/core/connection/connectFailure';
import {
  admissionNote,
  detectLeak,
  groupFailures,
  judgePoolPhase,
  judgeRun,
  type PoolPhaseOutcome,
} from '../../../server/src/core/loadtest/verdict';

const outcome = (overrides: Partial<PoolPhaseOutcome>): PoolPhaseOutcome => ({
  phase: 'capacity',
  pool: 'project',
  poolSize: 40,
  agents: 35,
  succeeded: 35,
  failures: {},
  ...overrides,
});

describe('groupFailures', () => {
  it('counts by class, most frequent first, with the first message of each', () => {
    const grouped = groupFailures([
      { class: 'too-many-clients', message: '53300: sorry, too many clients already' },
      { class: 'pool-exhausted', message: 'connection pool exhausted (all 40 connections in use)' },
      { class: 'pool-exhausted', message: 'second' },
    ]);
    assert.deepEqual(grouped.failures, { 'pool-exhausted': 2, 'too-many-clients': 1 });
    assert.deepEqual(Object.keys(grouped.failures), ['pool-exhausted', 'too-many-clients']);
    assert.equal(
      grouped.failureExamples['pool-exhausted'],
      'connection pool exhausted (all 40 connections in use)',
    );
  });
  it('is empty without failures', () =>
    assert.deepEqual(groupFailures([]), { failures: {}, failureExamples: {} }));
});

describe('judgePoolPhase', () => {
  it('PASS when everyone succeeded, also above the pool size (wait)', () => {
    assert.equal(judgePoolPhase(outcome({}), 'pool', 'fail').verdict, 'PASS');
    assert.equal(judgePoolPhase(outcome({ agents: 50, succeeded: 50 }), 'pool', 'wait').verdict, 'PASS');
  });
  it('WARN for 50 agents on a pool of 40: exactly the overflow exhausted', () => {
    const j = judgePoolPhase(
      outcome({ agents: 50, succeeded: 40, failures: { 'pool-exhausted': 10 } }),
      'pool',
      'fail',
    );
    assert.equal(j.verdict, 'WARN');
    assert.match(
      j.reasons[0]!,
      /10 agents above the pool size 40 failed as expected \(10 client pool exhausted\)/,
    );
  });
  it('FAIL for any failure at or below the pool size', () => {
    const j = judgePoolPhase(outcome({ succeeded: 34, failures: { 'too-many-clients': 1 } }), 'pool', 'fail');
    assert.equal(j.verdict, 'FAIL');
    assert.match(j.reasons[0]!, /1 of 35 agents failed at or below the pool size 40/);
  });
  it('FAIL for unexpected failures above the pool size, or fewer than the pool size served', () => {
    const refused = outcome({ agents: 50, succeeded: 40, failures: { 'too-many-clients': 10 } });
    assert.equal(judgePoolPhase(refused, 'pool', 'fail').verdict, 'FAIL');
    const short = outcome({ agents: 50, succeeded: 38, failures: { 'pool-exhausted': 12 } });
    assert.equal(judgePoolPhase(short, 'pool', 'fail').verdict, 'FAIL');
  });
  it('direct mode expects 53300 refusals above the pool size', () => {
    const o = outcome({
      poolSize: 20,
      agents: 30,
      succeeded: 26,
      failures: { 'reserved-superuser': 3, 'too-many-clients': 1 },
    });
    assert.equal(judgePoolPhase(o, 'direct', 'fail').verdict, 'WARN');
    assert.equal(judgePoolPhase(o, 'pool', 'fail').verdict, 'FAIL');
  });
  it('wait mode expects acquire timeouts', () => {
    const o = outcome({ agents: 50, succeeded: 40, failures: { 'acquire-timeout': 10 } });
    assert.equal(judgePoolPhase(o, 'pool', 'wait').verdict, 'WARN');
    assert.equal(judgePoolPhase(o, 'pool', 'fail').verdict, 'FAIL');
  });
});

describe('detectLeak and judgeRun', () => {
  it('growth across rounds is a leak; a steady count is not', () => {
    assert.equal(detectLeak([6, 7, 8]), true);
    assert.equal(detectLeak([6, 6, 6]), false);
    assert.equal(detectLeak([6]), false);
  });
  const base = {
    outcomes: [outcome({})],
    mode: 'pool' as const,
    onExhausted: 'fail' as const,
    leakDetected: false,
    connectionsAfterRounds: [],
    leftover: 0,
    cancelled: false,
  };
  it('PASS with no failures, leak or leftover', () => {
    assert.deepEqual(judgeRun(base).verdict, 'PASS');
  });
  it('FAIL on a leak, leftover connections or a cancel, with a reason each', () => {
    const leak = judgeRun({ ...base, leakDetected: true, connectionsAfterRounds: [6, 7, 8] });
    assert.equal(leak.verdict, 'FAIL');
    assert.match(leak.reasons[0]!, /grew across rounds \(6 -> 7 -> 8\)/);
    assert.equal(judgeRun({ ...base, leftover: 2 }).verdict, 'FAIL');
    assert.equal(judgeRun({ ...base, cancelled: true }).verdict, 'CANCELLED');
  });
  it('takes the worst phase and keeps per-phase verdicts', () => {
    const j = judgeRun({
      ...base,
      outcomes: [
        outcome({ phase: 'burst 1' }),
        outcome({ phase: 'burst 2', agents: 50, succeeded: 40, failures: { 'pool-exhausted': 10 } }),
      ],
    });
    assert.equal(j.verdict, 'WARN');
    assert.equal(j.phaseVerdicts.get('burst 1'), 'PASS');
    assert.equal(j.phaseVerdicts.get('burst 2'), 'WARN');
  });
});

describe('admissionNote (direct mode)', () => {
  const base = { server: '127.0.0.1:5432', phase: 'capacity', freeBefore: 25 };

  it('says so when slot refusals came before the free slots were used', () => {
    const note = admissionNote({ ...base, admitted: 24, slotRefusals: 3 });
    assert.match(note!, /^127\.0\.0\.1:5432 \(capacity\): 24 connections admitted though 25 slots were free/);
    assert.match(note!, /holds a slot while it authenticates/);
  });

  it('is silent when every free slot was used, or nothing was refused', () => {
    assert.equal(admissionNote({ ...base, admitted: 25, slotRefusals: 2 }), undefined);
    assert.equal(admissionNote({ ...base, admitted: 10, slotRefusals: 0 }), undefined);
  });

  it('counts server slot refusals only, not role or database limits', () => {
    assert.ok(isSlotRefusal('too-many-clients') && isSlotRefusal('reserved-superuser'));
    assert.ok(isSlotRefusal('reserved-pg-use-reserved'));
    assert.ok(
      !isSlotRefusal('role-limit') && !isSlotRefusal('database-limit') && !isSlotRefusal('pool-exhausted'),
    );
  });
});
