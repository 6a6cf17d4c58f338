/**
 * How a results block (a load-test table, a capacity report, a sweep) goes into the editor's output
 * channel: a separator and a timestamped title first, and long lines broken at spaces with the
 * continuation indented under the text column, so nothing wraps to column 0 inside a table.
 */

/** Wide enough for every table row; long prose lines break at this width. */
export const OUTPUT_WIDTH = 100;
/** The key column of the report and test tables (reportTable.ts, capacityReport.ts). */
const KEY_COLUMN = 9;

const two = (n: number) => String(n).padStart(2, '0');

/** "2026-11-28 06:24:58", local time: when the block was written. */
export function blockTimestamp(at: Date): string {
  return `${at.getFullYear()}-${two(at.getMonth() + 1)}-${two(at.getDate())} ${two(at.getHours())}:${two(at.getMinutes())}:${two(at.getSeconds())}`;
}

/** One line as lines of at most `width` characters (a word longer than a line is cut). */
export function fitLine(line: string, width = OUTPUT_WIDTH): string[] {
  if (line.length <= width) return [line];
  const indent = ' '.repeat(KEY_COLUMN);
  const out: string[] = [];
  let rest = line;
  let prefix = '';
  while (prefix.length + rest.length > width) {
    const room = width - prefix.length;
    let cut = rest.lastIndexOf(' ', room);
    if (cut <= 0) cut = room;
    out.push(`${prefix}${rest.slice(0, cut)}`.trimEnd());
    rest = rest.slice(cut).trimStart();
    prefix = indent;
  }
  if (rest) out.push(`${prefix}${rest}`);
  return out;
}

/** The block as the output channel shows it, ending with a newline. */
export function outputBlock(text: string, title: string, at: Date, width = OUTPUT_WIDTH): string {
  const body = text
    .replace(/\n+$/, '')
    .split('\n')
    .flatMap((line) => fitLine(line, width));
  return [`${'─'.repeat(width)}`, `${blockTimestamp(at)}  ${title}`, ...body, ''].join('\n');
}
