import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { blockTimestamp, fitLine, outputBlock } from '../../../shared/outputBlock';

describe('output channel blocks', () => {
  it('a separator, the local time and the title before the text', () => {
    const at = new Date(2026, 1, 3, 4, 5, 6);
    assert.equal(blockTimestamp(at), '2026-02-03 04:05:06');
    const block = outputBlock(
      'Result   PASS  5/5 agents succeeded (100%) in 0.21s\n',
      'capacity test',
      at,
      60,
    );
    assert.deepEqual(block.split('\n'), [
      '─'.repeat(60),
      '2026-02-03 04:05:06  capacity test',
      'Result   PASS  5/5 agents succeeded (100%) in 0.21s',
      '',
    ]);
  });

  it('breaks a long line at spaces, continuing under the text column, never past the width', () => {
    const line =
      `Server   ${'max_connections 20 − 3 reserved − 1 used by others = 16 free for this role '.repeat(3)}`.trim();
    const lines = fitLine(line, 60);
    assert.ok(lines.length > 1);
    for (const l of lines) assert.ok(l.length <= 60, `"${l}" is ${l.length} long`);
    for (const l of lines.slice(1)) assert.match(l, /^ {9}\S/);
    // Every word is kept, in order.
    assert.deepEqual(lines.join(' ').split(/\s+/), line.split(/\s+/));
    // A word longer than the line is cut rather than overflowing.
    const cut = fitLine('x'.repeat(25), 10);
    for (const l of cut) assert.ok(l.length <= 10, `"${l}" is ${l.length} long`);
    assert.equal(cut.join('').replace(/ /g, ''), 'x'.repeat(25));
    assert.equal(fitLine('short', 10)[0], 'short');
  });
});
