import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import * as fs from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { loadHistory, saveRun } from '../../../server/src/core/loadtest/runHistory';
import { type LoadTestReport, loadTestDefaults } from '../../../shared/loadTest';

const dir = mkdtempSync(join(tmpdir(), 'pool-capacity-history-'));
after(() => rmSync(dir, { recursive: true, force: true }));

function report(n: number, poolSize: number): LoadTestReport {
  const summary = { p50: n, p95: 10 + n, p99: 11 + n, max: 12 + n, count: 5 };
  return {
    runId: `run${String(n).padStart(5, '0')}`,
    shape: 'capacity',
    options: { ...loadTestDefaults, shape: 'capacity', agents: 5 },
    pools: [{ name: 'project', poolSize, server: 'app@127.0.0.1:5432/db' }],
    agents: 5,
    succeeded: 5,
    failed: 0,
    successRate: 1,
    wallMs: 100,
    latencyMs: summary,
    connectMs: summary,
    acquireMs: summary,
    failures: {},
    failureExamples: {},
    phases: [],
    peakServerConnections: 5,
    leftover: 0,
    leakDetected: false,
    cancelled: false,
    verdict: 'PASS',
    verdictReasons: [],
    startedAt: new Date(Date.UTC(2026, 0, 1, 0, 0, n)).toISOString(),
  };
}

describe('run history', () => {
  it('keeps every run up to the cap, dropping the oldest, and reads them back oldest first', async () => {
    for (let n = 0; n < 7; n++) await saveRun(fs, dir, report(n, 20 + n), 5);
    assert.equal(readdirSync(dir).length, 5);
    const entries = await loadHistory(fs, dir);
    assert.deepEqual(
      entries.map((e) => [e.runId, e.poolSizes, e.p95Ms]),
      [2, 3, 4, 5, 6].map((n) => [`run0000${n}`, `project ${20 + n}`, 10 + n]),
    );
  });

  it('skips a file that is not a report, and a missing directory is an empty history', async () => {
    writeFileSync(join(dir, '9999-broken.run.json'), '{"runId": ');
    assert.equal((await loadHistory(fs, dir)).length, 5);
    assert.deepEqual(await loadHistory(fs, join(dir, 'nowhere')), []);
  });
});
