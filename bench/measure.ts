/** Summaries of repeated measurements, and the row model every benchmark section reports in. */

export type Unit = 'ms' | 'bytes' | 'count';

/** Repeated measurements of one thing: median and spread, plus p95 where the samples are a distribution. */
export interface Summary {
  median: number;
  min: number;
  max: number;
  /** Only for distributions of many samples (latencies); meaningless over 5 runs, so absent there. */
  p95?: number;
  n: number;
  unit: Unit;
}

/** One line of the results table: the product's figure beside a baseline measured in the same run. */
export interface BenchRow {
  section: string;
  label: string;
  value?: Summary;
  baseline?: { label: string; value: Summary };
  /** value / baseline, on the statistic the goal is judged on (see `ratioOn`). */
  ratio?: number;
  /** Which statistic the ratio compares: medians for repeated runs, p95 where the goal says p95. */
  ratioOn?: 'median' | 'p95';
  goal?: { text: string; met: boolean };
  /** Why a goal was missed and what would close it, or how the figure was taken. */
  note?: string;
  /** Set when the row could not be measured: the reason. */
  missing?: string;
}

function nearestRank(sorted: readonly number[], p: number): number {
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1]!;
}

export function summarize(samples: readonly number[], unit: Unit, withP95 = false): Summary {
  if (samples.length === 0) throw new Error('no samples to summarize');
  const sorted = [...samples].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  const median = sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
  return {
    median,
    min: sorted[0]!,
    max: sorted[sorted.length - 1]!,
    ...(withP95 ? { p95: nearestRank(sorted, 95) } : {}),
    n: sorted.length,
    unit,
  };
}

/** The statistic a ratio is taken on. */
export function statOf(summary: Summary, on: 'median' | 'p95'): number {
  return on === 'p95' ? (summary.p95 ?? summary.median) : summary.median;
}

/** A row comparing product and baseline, with its goal judged by `meets(ratio, row)`. */
export function compared(
  row: Omit<BenchRow, 'ratio' | 'goal'> & { value: Summary; baseline: { label: string; value: Summary } },
  goal?: {
    text: string;
    meets: (ratio: number, value: Summary) => boolean;
    /** Why a miss happens and what would close it; added to the note only when missed. */
    whenMissed?: string;
  },
): BenchRow {
  const on = row.ratioOn ?? 'median';
  const ratio = statOf(row.value, on) / statOf(row.baseline.value, on);
  if (!goal) return { ...row, ratio, ratioOn: on };
  const met = goal.meets(ratio, row.value);
  const why = !met && goal.whenMissed ? `MISSED: ${goal.whenMissed}` : undefined;
  return {
    ...row,
    ratio,
    ratioOn: on,
    goal: { text: goal.text, met },
    ...(why ? { note: row.note ? `${row.note}. ${why}` : why } : {}),
  };
}

export function missingRow(section: string, label: string, reason: string, goalText?: string): BenchRow {
  return {
    section,
    label,
    missing: reason,
    ...(goalText ? { goal: { text: goalText, met: false } } : {}),
  };
}

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
