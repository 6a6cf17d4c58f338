import type { LatencySummary } from '../../../../shared/loadTest';

/** Nearest-rank percentile of an ascending-sorted list; 0 for an empty one. */
export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return 0;
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1]!;
}

/** p50/p95/p99/max of durations in ms, rounded to 0.01 ms (sub-ms warm checkouts must stay visible). */
export function summarizeLatencies(samples: readonly number[]): LatencySummary {
  const sorted = [...samples].sort((a, b) => a - b);
  const round = (ms: number) => Math.round(ms * 100) / 100;
  return {
    p50: round(percentile(sorted, 50)),
    p95: round(percentile(sorted, 95)),
    p99: round(percentile(sorted, 99)),
    max: round(sorted.length > 0 ? sorted[sorted.length - 1]! : 0),
    count: sorted.length,
  };
}
