/**
 * The capacity sweep: the capacity test at increasing agent counts (10, 20, ... 80), each step
 * through the engine's own `runLoadTest`, so each step meets the safety check like any run. The
 * usable slots it charts come from the capacity plan's budget, the same figure as the diagnostics.
 */
import type { SweepRange, SweepReport } from '../../../shared/dashboard';
import type { LoadTestOptions, LoadTestReport, Verdict } from '../../../shared/loadTest';
import type { LoadedConfig } from '../config/loadConfig';
import { buildCapacityReport } from './capacityReport';
import { loadTestPools } from './clusterFollower';
import { type LoadTestContext, LoadTestSetupError, newRunId, runLoadTest, selectPools } from './engine';
import { LoadTestRefused } from './safety';

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

export interface SweepContext extends Omit<LoadTestContext, 'runId' | 'leakPerRound'> {
  /** Each step's full report as it finishes (the run history keeps them). */
  onStep?: (report: LoadTestReport) => void;
}

/**
 * Runs the steps in order. A refusal or setup error at the first step is thrown as the engine
 * threw it (nothing ran); later, the sweep stops there and says why, keeping the steps it ran.
 */
export async function runSweep(
  config: LoadedConfig,
  options: Omit<LoadTestOptions, 'shape' | 'agents'>,
  range: SweepRange,
  context: SweepContext,
): Promise<{ sweep: SweepReport; reports: LoadTestReport[] }> {
  const agents = sweepAgents(sweepRange(range));
  // `--pool patroni`: every step on the leader the REST API names when the sweep starts.
  const { pools } = await loadTestPools(config, options.pool, context.signal);
  const tested = selectPools(pools, options.pool);
  const names = new Set(tested.map((p) => p.name));
  const plan = await buildCapacityReport(config, context.settings, context.signal);
  const usableSlots = plan.servers.find((s) => s.budget.pools.some((p) => names.has(p.name)))?.budget.usable;
  const sweep: SweepReport = {
    runId: newRunId(),
    startedAt: new Date().toISOString(),
    options,
    range,
    steps: [],
    poolSize: tested.reduce((n, p) => n + (p.poolSize ?? 0), 0),
    pools: tested.map((p) => `${p.name} ${p.poolSize}`).join(', '),
    ...(usableSlots !== undefined ? { usableSlots } : {}),
    verdict: 'PASS',
  };
  const reports: LoadTestReport[] = [];
  for (const [i, n] of agents.entries()) {
    if (context.signal?.aborted) {
      sweep.stoppedAt = { agents: n, reason: 'cancelled' };
      break;
    }
    let report: LoadTestReport;
    try {
      report = await runLoadTest(
        pools,
        { ...options, shape: 'capacity', agents: n },
        {
          settings: context.settings,
          signal: context.signal,
          onProgress: (p) =>
            context.onProgress?.({
              done: i * 100 + Math.round((100 * p.done) / Math.max(1, p.total)),
              total: agents.length * 100,
              message: `step ${i + 1}/${agents.length} (${n} agents): ${p.message}`,
            }),
        },
      );
    } catch (error) {
      if (i === 0 && !context.signal?.aborted) throw error;
      const reason = context.signal?.aborted
        ? 'cancelled'
        : error instanceof LoadTestRefused
          ? `refused by the safety check: ${error.reasons.join('; ')}`
          : error instanceof Error
            ? error.message
            : String(error);
      sweep.stoppedAt = { agents: n, reason };
      break;
    }
    reports.push(report);
    context.onStep?.(report);
    sweep.steps.push({
      agents: n,
      successRate: report.successRate,
      succeeded: report.succeeded,
      failed: report.failed,
      p95Ms: report.latencyMs.p95,
      verdict: report.verdict,
      runId: report.runId,
    });
    if (report.cancelled) {
      sweep.stoppedAt = { agents: n, reason: 'cancelled' };
      break;
    }
  }
  sweep.verdict = sweepVerdict(sweep.steps, sweep.poolSize, sweep.stoppedAt?.reason === 'cancelled');
  return { sweep, reports };
}
