/** Runs a capacity sweep: core/loadtest/sweep's steps, each a load test through the engine. */
import type { SweepRange, SweepReport } from '../../../../shared/dashboard';
import type { LoadTestOptions, LoadTestReport } from '../../../../shared/loadTest';
import type { LoadedConfig } from '../../core/config/loadedConfig';
import { newRunId, selectPools } from '../../core/loadtest/plan';
import { LoadTestRefused } from '../../core/loadtest/safety';
import { sweepAgents, sweepRange, sweepVerdict } from '../../core/loadtest/sweep';
import { buildCapacityReport } from '../probe/capacityCheck';
import { loadTestPools } from './clusterFollower';
import { type LoadTestContext, runLoadTest } from './engine';

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
