/** Renders the benchmark's rows: a plain-text table for the terminal and a Markdown one for docs/development.md (between its bench:start / bench:end markers). */
import type { BenchRow, Summary } from './measure';

export interface MachineInfo {
  cpuModel: string;
  cores: number;
  memoryGiB: number;
  os: string;
  node: string;
  postgresql: string;
  pgbench: string;
  pg: string;
  yaml: string;
  date: string;
  commit: string;
  /** 1-minute load average before and after: other work on the machine shows up here. */
  loadAverage: { start: number; end?: number };
}

function number(n: number, unit: Summary['unit']): string {
  if (unit === 'bytes') return `${n.toLocaleString('en-US')} B`;
  if (unit === 'count') return String(n);
  return n >= 100 ? n.toFixed(0) : n >= 10 ? n.toFixed(1) : n.toFixed(2);
}

export function formatSummary(s: Summary): string {
  const unit = s.unit === 'ms' ? ' ms' : '';
  if (s.unit === 'bytes') return number(s.median, 'bytes');
  if (s.p95 !== undefined) return `p50 ${number(s.median, s.unit)} / p95 ${number(s.p95, s.unit)}${unit}`;
  if (s.n === 1) return `${number(s.median, s.unit)}${unit}`;
  return `${number(s.median, s.unit)}${unit} (${number(s.min, s.unit)}–${number(s.max, s.unit)})`;
}

interface Cells {
  what: string;
  product: string;
  baseline: string;
  ratio: string;
  goal: string;
  met: string;
}

function cells(row: BenchRow): Cells {
  return {
    what: row.label,
    product: row.missing ? 'missing (see notes)' : row.value ? formatSummary(row.value) : '',
    baseline: row.baseline ? `${row.baseline.label}: ${formatSummary(row.baseline.value)}` : '',
    ratio: row.ratio === undefined ? '' : `${row.ratio.toFixed(2)}×${row.ratioOn === 'p95' ? ' (p95)' : ''}`,
    goal: row.goal?.text ?? '',
    met: row.goal ? (row.goal.met ? 'met' : 'MISSED') : '',
  };
}

function sections(rows: readonly BenchRow[]): [string, BenchRow[]][] {
  const bySection = new Map<string, BenchRow[]>();
  for (const row of rows) bySection.set(row.section, [...(bySection.get(row.section) ?? []), row]);
  return [...bySection];
}

export function machineLine(m: MachineInfo): string {
  return (
    `${m.cpuModel}, ${m.cores} cores, ${m.memoryGiB} GiB, ${m.os}; Node ${m.node}, PostgreSQL ${m.postgresql}, ` +
    `${m.pgbench}, pg ${m.pg}, yaml ${m.yaml}; ${m.date}; load average ${m.loadAverage.start.toFixed(1)}` +
    `${m.loadAverage.end !== undefined ? ` → ${m.loadAverage.end.toFixed(1)}` : ''}; commit ${m.commit}`
  );
}

/** Notes worth reading below the table: how a figure was taken, and why a goal was missed. */
function notes(rows: readonly BenchRow[]): string[] {
  return rows.flatMap((row) => {
    const text = [row.missing ? `missing: ${row.missing}` : undefined, row.note].filter(Boolean).join('. ');
    return text ? [`${row.section} — ${row.label}: ${text}`] : [];
  });
}

export function textTable(rows: readonly BenchRow[], machine: MachineInfo): string {
  const header: Cells = {
    what: 'measurement',
    product: 'Pool Capacity',
    baseline: 'baseline (same run)',
    ratio: 'ratio',
    goal: 'goal',
    met: '',
  };
  const all = rows.map(cells);
  const keys = Object.keys(header) as (keyof Cells)[];
  const width = Object.fromEntries(
    keys.map((k) => [k, Math.max(header[k].length, ...all.map((c) => c[k].length))]),
  ) as Record<keyof Cells, number>;
  const line = (c: Cells) =>
    `  ${keys
      .map((k) => c[k].padEnd(width[k]))
      .join('  ')
      .trimEnd()}`;
  const out = [`Machine: ${machineLine(machine)}`, '', line(header)];
  for (const [section, sectionRows] of sections(rows)) {
    out.push(section);
    for (const row of sectionRows) out.push(line(cells(row)));
  }
  const noteLines = notes(rows);
  if (noteLines.length) out.push('', 'Notes:', ...noteLines.map((n) => `  - ${n}`));
  return out.join('\n');
}

const escapeCell = (s: string) => s.replace(/\|/g, '\\|');

export function markdownTable(rows: readonly BenchRow[], machine: MachineInfo): string {
  const out = [
    `Measured on: ${machineLine(machine)}.`,
    '',
    '| Measurement | Pool Capacity | Baseline (same run) | Ratio | Goal | |',
    '|---|---|---|---|---|---|',
  ];
  for (const [section, sectionRows] of sections(rows)) {
    out.push(`| **${escapeCell(section)}** | | | | | |`);
    for (const row of sectionRows) {
      const c = cells(row);
      out.push(
        `| ${[c.what, c.product, c.baseline, c.ratio, c.goal, c.met === 'MISSED' ? '**missed**' : c.met]
          .map(escapeCell)
          .join(' | ')} |`,
      );
    }
  }
  const noteLines = notes(rows);
  if (noteLines.length) out.push('', ...noteLines.map((n) => `- ${escapeCell(n)}`));
  return `${out.join('\n')}\n`;
}
