import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { LoadTestSetupError, MAX_POOL_SIZE, runLoadTest } from '../../../server/src/io/loadtest/engine';
import { loadTestDefaults } from '../../../shared/loadTest';
import { settingsDefaults } from '../../../shared/settings';

// Port 1 on loopback: any connection attempt would fail as refused, which the message would name.
const target = { host: '127.0.0.1', port: 1, database: 'app', user: 'app' };

describe('absurd pool sizes', () => {
  for (const [what, pool] of [
    ['poolSize 2^53', { name: 'project' as const, poolSize: 2 ** 53, target }],
    ['poolSize just above the bound', { name: 'project' as const, poolSize: MAX_POOL_SIZE + 1, target }],
    ['a minimum size above the bound', { name: 'project' as const, poolSize: 5, minSize: 1e9, target }],
  ] as const) {
    it(`${what}: refused with --force, before any probe or allocation`, async () => {
      await assert.rejects(
        runLoadTest(
          [pool],
          { ...loadTestDefaults, shape: 'capacity', agents: 3, force: true },
          { settings: settingsDefaults },
        ),
        (error: Error) =>
          error instanceof LoadTestSetupError &&
          /is above 10,000, the most a load test opens/.test(error.message) &&
          !/cannot reach|refused/.test(error.message),
      );
    });
  }

  it('a pool at the bound is not refused for its size (it gets as far as the probe)', async () => {
    await assert.rejects(
      runLoadTest(
        [{ name: 'project', poolSize: MAX_POOL_SIZE, target }],
        { ...loadTestDefaults, shape: 'capacity', agents: 3, force: true },
        { settings: { ...settingsDefaults, connectTimeoutMs: 500 } },
      ),
      (error: Error) => error instanceof LoadTestSetupError && /cannot reach/.test(error.message),
    );
  });
});
