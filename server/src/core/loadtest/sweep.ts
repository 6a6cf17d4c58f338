/**
 * The capacity sweep: the capacity test at increasing agent counts (10, 20, ... 80), each step
 * through the engine's own `runLoadTest`, so each step meets the safety check like any run. The
 * usable slots it charts come from the capacity plan's budget, the same figure as the diagnostics.
 */
import type { SweepRange, SweepReport } from '../../../../shared/dashboard';
import type { Verdict } from '../../../../shared/loadTest';
import { LoadTestSetupError } from './plan';

/** More steps than this is a typo (10..1000 step 1), not a sweep anyone waits for. */
export const MAX_SWEEP_STEPS = 50;

/** "10..80" (or "10-80") and a step into a range; a clear message for anything else. */
export function parseSweepRange(text: string, step: number): SweepRange {
  const match = /^\s*(\d+)\s*(?:\.\.|-)\s*(\d+)\s*$/.exec(text);
  if (!match) throw new LoadTestSetupError(`--sweep takes FROM..TO, e.g. 10..80, not "${text}"`);
  return sweepRange({ from: Number(match[1]), to: Number(match[2]), step });
}

export function sweepRange(range: SweepRange): SweepRange {
  const { from, to, step } = range;
  if (![from, to, step].every((n) => Number.isInteger(n) && n >= 1))
    throw new LoadTestSetupError('a sweep needs whole numbers of at least 1 (from, to, step)');
  if (to < from) throw new LoadTestSetupError(`a sweep goes up: ${from}..${to} ends below its start`);
  if (sweepAgents(range).length > MAX_SWEEP_STEPS)
    throw new LoadTestSetupError(
      `${from}..${to} step ${step} is ${sweepAgents(range).length} steps; at most ${MAX_SWEEP_STEPS} (raise the step)`,
    );
  return range;
}

/** The agent counts of a range; the last step is `to` even when the step does not land on it. */
export function sweepAgents({ from, to, step }: SweepRange): number[] {
  const counts: number[] = [];
  for (let n = from; n <= to && counts.length <= MAX_SWEEP_STEPS; n += step) counts.push(n);
  if (counts[counts.length - 1] !== to && counts.length <= MAX_SWEEP_STEPS) counts.push(to);
  return counts;
}

const RANK: Record<Verdict, number> = { PASS: 0, WARN: 1, CANCELLED: 2, FAIL: 3 };

/**
 * Past the pool size, failures are what the sweep measures, not a defect: the sweep's verdict is
 * the worst of its steps up to the pool size (CANCELLED when it was stopped).
 */
export function sweepVerdict(steps: SweepReport['steps'], poolSize: number, cancelled: boolean): Verdict {
  if (cancelled) return 'CANCELLED';
  return steps
    .filter((s) => s.agents <= poolSize)
    .reduce<Verdict>((worst, s) => (RANK[s.verdict] > RANK[worst] ? s.verdict : worst), 'PASS');
}
