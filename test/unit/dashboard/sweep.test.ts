import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseSweepRange, sweepAgents, sweepVerdict } from '../../../server/src/core/loadtest/sweep';
import { LoadTestSetupError } from '../../../server/src/io/loadtest/engine';

describe('capacity sweep range', () => {
  it('10..80 step 10 is eight capacity tests', () => {
    assert.deepEqual(sweepAgents(parseSweepRange('10..80', 10)), [10, 20, 30, 40, 50, 60, 70, 80]);
  });

  it('ends at TO even when the step does not land on it', () => {
    assert.deepEqual(sweepAgents(parseSweepRange('5-32', 10)), [5, 15, 25, 32]);
    assert.deepEqual(sweepAgents(parseSweepRange('7..7', 3)), [7]);
  });

  it('says what is wrong with a range, in words', () => {
    assert.throws(() => parseSweepRange('10:80', 10), LoadTestSetupError);
    assert.throws(() => parseSweepRange('80..10', 10), /ends below its start/);
    assert.throws(() => parseSweepRange('0..10', 5), /at least 1/);
    assert.throws(() => parseSweepRange('1..1000', 1), /1000 steps|at most 50/);
  });
});

describe('sweep verdict', () => {
  const step = (agents: number, verdict: 'PASS' | 'WARN' | 'FAIL') => ({
    agents,
    verdict,
    successRate: 1,
    succeeded: agents,
    failed: 0,
    p95Ms: 1,
    runId: 'x',
  });

  it('failures past the pool size are what a sweep measures; within it they count', () => {
    assert.equal(sweepVerdict([step(10, 'PASS'), step(20, 'PASS'), step(30, 'FAIL')], 20, false), 'PASS');
    assert.equal(sweepVerdict([step(10, 'PASS'), step(20, 'WARN'), step(30, 'FAIL')], 20, false), 'WARN');
    assert.equal(sweepVerdict([step(10, 'FAIL')], 20, false), 'FAIL');
    assert.equal(sweepVerdict([step(10, 'PASS')], 20, true), 'CANCELLED');
  });
});
