import assert from 'node:assert/strict';
import { afterEach, describe, it, mock } from 'node:test';
import type { ProbeOutcome } from '../../../server/src/core/capacity/serverFacts';
import type { ConnectionTarget } from '../../../server/src/core/connection/connectionTarget';
import { FactsCache } from '../../../server/src/io/probe/factsCache';
import { probeDeadlineMs } from '../../../server/src/io/probe/probeServer';

const target: ConnectionTarget = { host: '127.0.0.1', port: 5432, database: 'app', user: 'app' };
const refused = (n: number): ProbeOutcome => ({
  ok: false,
  failure: { class: 'connection-refused', message: `refused ${n}` },
});

/** A probe the test settles by hand, counting the calls. */
function manualProbe() {
  const pending: ((outcome: ProbeOutcome) => void)[] = [];
  const probe = mock.fn(
    () =>
      new Promise<ProbeOutcome>((resolve) => {
        pending.push(resolve);
      }),
  );
  return { probe, settle: (i: number, outcome: ProbeOutcome) => pending[i]!(outcome) };
}

const options = { maxAgeMs: 60_000, connectTimeoutMs: 1000 };

describe('FactsCache', () => {
  afterEach(() => mock.timers.reset());

  it('concurrent requests share one probe, and its outcome is cached', async () => {
    const { probe, settle } = manualProbe();
    const cache = new FactsCache(probe);
    const a = cache.get(target, options);
    const b = cache.get(target, options);
    assert.equal(probe.mock.callCount(), 1);
    settle(0, refused(1));
    assert.deepEqual(await a, refused(1));
    assert.deepEqual(await b, refused(1));
    assert.deepEqual(cache.peek(target, 60_000), refused(1));
  });

  it('clear() drops a probe in flight: the next request starts a fresh one, the stale answer overwrites nothing', async () => {
    const { probe, settle } = manualProbe();
    const cache = new FactsCache(probe);
    const stuck = cache.get(target, options);
    cache.clear();
    const fresh = cache.get(target, options);
    assert.equal(probe.mock.callCount(), 2);
    settle(1, refused(2));
    assert.deepEqual(await fresh, refused(2));
    settle(0, refused(1));
    assert.deepEqual(await stuck, refused(1));
    assert.deepEqual(cache.peek(target, 60_000), refused(2));
  });

  it('a probe past its deadline is no longer shared: a new request probes again', () => {
    mock.timers.enable({ apis: ['Date'], now: 1_000_000 });
    const { probe } = manualProbe();
    const cache = new FactsCache(probe);
    void cache.get(target, options);
    mock.timers.tick(probeDeadlineMs(options.connectTimeoutMs));
    void cache.get(target, options);
    assert.equal(probe.mock.callCount(), 1, 'within its deadline the probe is shared');
    mock.timers.tick(5000);
    void cache.get(target, options);
    assert.equal(probe.mock.callCount(), 2, 'past it, a fresh probe starts');
  });

  it('forget() makes the next request probe again', async () => {
    const { probe, settle } = manualProbe();
    const cache = new FactsCache(probe);
    const first = cache.get(target, options);
    settle(0, refused(1));
    await first;
    cache.forget(target);
    assert.equal(cache.peek(target, 60_000), undefined);
    void cache.get(target, options);
    assert.equal(probe.mock.callCount(), 2);
  });
});
