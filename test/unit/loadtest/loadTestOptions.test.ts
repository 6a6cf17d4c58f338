import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { loadTestDefaults, loadTestOptionsFor } from '../../../shared/loadTest';

describe('loadTestOptionsFor', () => {
  it("takes the config's target agents and the defaults for what was not chosen", () => {
    assert.deepEqual(loadTestOptionsFor(6, { shape: 'capacity' }), {
      ...loadTestDefaults,
      shape: 'capacity',
      agents: 6,
    });
  });

  it('keeps what was chosen, and an explicitly undefined choice does not blank a default', () => {
    const options = loadTestOptionsFor(6, {
      shape: 'sustained',
      agents: 12,
      durationMs: 0,
      rounds: undefined,
      force: undefined,
    });
    assert.equal(options.agents, 12);
    assert.equal(options.durationMs, 0);
    assert.equal(options.rounds, loadTestDefaults.rounds);
    assert.equal(options.force, false);
  });
});
