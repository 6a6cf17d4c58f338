import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { percentile, summarizeLatencies } from '../../../server/src/core/loadtest/latency';

describe('percentile (nearest rank)', () => {
  const hundred = Array.from({ length: 100 }, (_, i) => i + 1);
  it('reads ranks of 1..100 exactly', () => {
    assert.equal(percentile(hundred, 50), 50);
    assert.equal(percentile(hundred, 95), 95);
    assert.equal(percentile(hundred, 99), 99);
    assert.equal(percentile(hundred, 100), 100);
  });
  it('rounds the rank up on small samples', () => {
    assert.equal(percentile([10, 20, 30], 50), 20);
    assert.equal(percentile([10, 20, 30], 95), 30);
    assert.equal(percentile([10, 20, 30, 40], 50), 20);
  });
  it('is 0 for no samples and the value for one', () => {
    assert.equal(percentile([], 50), 0);
    assert.equal(percentile([7], 99), 7);
  });
});

describe('summarizeLatencies', () => {
  it('sorts, rounds to 0.01 ms and counts', () => {
    assert.deepEqual(summarizeLatencies([3.27159, 1.005, 2, 100.123]), {
      p50: 2,
      p95: 100.12,
      p99: 100.12,
      max: 100.12,
      count: 4,
    });
  });
  it('keeps microsecond checkouts visible', () => {
    assert.equal(summarizeLatencies([0.004, 0.012]).max, 0.01);
  });
  it('is all zeros for no samples', () => {
    assert.deepEqual(summarizeLatencies([]), { p50: 0, p95: 0, p99: 0, max: 0, count: 0 });
  });
});
