import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { scrubbedOutput } from '../../../server/src/core/config/secretScrubber';

describe('scrubbedOutput', () => {
  // A scrubber like the product's: removes the secret and shortens long text.
  const scrub = (text: string) => {
    const out = text.split('s3cret-pw').join('***');
    return out.length > 50 ? `${out.slice(0, 50)}…` : out;
  };

  it('scrubs JSON string by string, so a long document stays whole and parseable', () => {
    const value = { rows: Array.from({ length: 40 }, (_, i) => ({ i, note: `row ${i} s3cret-pw` })) };
    const out = scrubbedOutput(scrub, value);
    assert.ok(out.length > 1000);
    const parsed = JSON.parse(out);
    assert.equal(parsed.rows.length, 40);
    assert.equal(parsed.rows[39].note, 'row 39 ***');
    assert.ok(!out.includes('s3cret-pw'));
  });

  it('scrubs text line by line', () => {
    const text = Array.from({ length: 30 }, (_, i) => `line ${i} s3cret-pw`).join('\n');
    const out = scrubbedOutput(scrub, text);
    assert.equal(out.split('\n').length, 30);
    assert.equal(out.split('\n')[29], 'line 29 ***');
  });
});
