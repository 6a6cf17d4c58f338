/**
 * The load-test report from what a run saw: the verdict per phase and overall (verdict.ts), the
 * latencies, the failures by class, the observer's peak, samples and leftover count.
 */
import type { FailoverReport, LoadTestOptions, LoadTestReport } from '../../../../shared/loadTest';
import { serverSlots } from '../../core/capacity/serverBudget';
import { isSlotRefusal } from '../../core/connection/connectFailure';
import { describeTarget, serverKey } from '../../core/connection/connectionTarget';
import { insideWindow } from '../../core/loadtest/failoverWindow';
import { summarizeLatencies } from '../../core/loadtest/latency';
import type { PlannedPool } from '../../core/loadtest/plan';
import {
  admissionNote,
  detectLeak,
  groupFailures,
  judgeRun,
  type PoolPhaseOutcome,
  worst,
} from '../../core/loadtest/verdict';
import type { AgentResult, PhasesRun, PoolRun } from './phases';
import type { RunObserver } from './runObserver';

export interface FinishedRun {
  runId: string;
  startedAt: string;
  options: LoadTestOptions;
  plan: readonly PlannedPool[];
  runs: readonly PoolRun[];
  ran: PhasesRun;
  observer: RunObserver;
  leftover: number;
  cancelled: boolean;
  /** A Patroni cluster's run: its failures inside the failover window are judged by the window. */
  failover?: FailoverReport;
}

export function assembleReport(run: FinishedRun): LoadTestReport {
  const { options, runs, ran, observer, leftover, cancelled } = run;
  const { results, phases } = ran;
  for (const [i, p] of phases.entries()) {
    const excused = results.filter((a) => a.phase === i && inWindow(run.failover, a)).length;
    if (excused > 0) p.inFailoverWindow = excused;
  }
  const connectionsAfterRounds = leakCounts(ran);
  const leakDetected = options.shape === 'sustained' && detectLeak(connectionsAfterRounds);
  const notes = [...observer.notes];
  if (options.mode === 'direct' && !cancelled) notes.push(...directAdmissionNotes(run));
  const judgement = judgeRun({
    outcomes: phaseOutcomes(runs, ran, run.failover),
    mode: options.mode,
    onExhausted: options.onExhausted,
    leakDetected,
    connectionsAfterRounds,
    leftover,
    cancelled,
  });
  for (const p of phases) p.verdict = judgement.phaseVerdicts.get(p.label) ?? 'PASS';
  if (run.failover) {
    judgement.verdict = worst(judgement.verdict, run.failover.verdict);
    judgement.reasons.unshift(`failover ${run.failover.verdict}: ${run.failover.summary}`);
  }

  const succeeded = results.filter((a) => a.ok).length;
  const grouped = groupFailures(results.flatMap((a) => (a.failure ? [a.failure] : [])));
  const pick = (key: 'latencyMs' | 'connectMs' | 'acquireMs') =>
    results.flatMap((a) => (a[key] === undefined ? [] : [a[key]!]));
  return {
    runId: run.runId,
    shape: options.shape,
    options,
    pools: runs.map((r) => ({
      name: r.pool.name,
      poolSize: r.pool.poolSize!,
      ...(r.pool.minSize !== undefined ? { minSize: r.pool.minSize } : {}),
      server: describeTarget(r.pool.target),
      agents: r.agents,
    })),
    agents: results.length,
    succeeded,
    failed: results.length - succeeded,
    successRate: results.length === 0 ? 0 : succeeded / results.length,
    wallMs: ran.wallMs,
    latencyMs: summarizeLatencies(pick('latencyMs')),
    connectMs: summarizeLatencies(pick('connectMs')),
    acquireMs: summarizeLatencies(pick('acquireMs')),
    failures: grouped.failures,
    failureExamples: grouped.failureExamples,
    phases,
    peakServerConnections: observer.peak,
    samples: observer.samples(),
    leftover,
    leakDetected,
    cancelled,
    verdict: judgement.verdict,
    verdictReasons: [...judgement.reasons, ...notes],
    startedAt: run.startedAt,
    ...(run.failover ? { failover: run.failover } : {}),
  };
}

/**
 * The rounds' counts the leak check compares. After a failover the pools start again on another
 * server: only the rounds after the window count (earlier ones were on the old leader, or emptied
 * by the failover).
 */
export function leakCounts(ran: PhasesRun): number[] {
  const last = ran.phases.reduce((at, p, i) => ((p.inFailoverWindow ?? 0) > 0 ? i : at), -1);
  if (last < 0) return ran.connectionsAfterRounds;
  return ran.phases
    .slice(last + 1)
    .flatMap((p) => (p.connectionsAfter === undefined ? [] : [p.connectionsAfter]));
}

const inWindow = (failover: FailoverReport | undefined, a: AgentResult) =>
  insideWindow(failover?.window, { at: a.at ?? 0, ok: a.ok, failureClass: a.failure?.class });

/** Per phase and pool: how its agents fared, for the verdict. */
function phaseOutcomes(
  runs: readonly PoolRun[],
  ran: PhasesRun,
  failover: FailoverReport | undefined,
): PoolPhaseOutcome[] {
  const outcomes: PoolPhaseOutcome[] = [];
  // The failover's own failures are the window's to judge, not the capacity's.
  const counted = (a: AgentResult) => !inWindow(failover, a);
  for (let phase = 0; phase < ran.phases.length; phase++) {
    for (const r of runs) {
      const mine = ran.results.filter((a) => a.phase === phase && a.pool === r.pool.name && counted(a));
      outcomes.push({
        phase: ran.phases[phase]!.label,
        pool: r.pool.name,
        poolSize: r.pool.poolSize!,
        agents: mine.length,
        succeeded: mine.filter((a) => a.ok).length,
        failures: groupFailures(mine.flatMap((a) => (a.failure ? [a.failure] : []))).failures,
      });
    }
  }
  return outcomes;
}

/** Direct mode: per server and phase, say so when slot refusals came before the free slots were used. */
function directAdmissionNotes({ plan, ran, observer }: FinishedRun): string[] {
  const notes: string[] = [];
  const byServer = new Map<string, PlannedPool[]>();
  for (const entry of plan) {
    if (entry.facts.pooler) continue; // PgBouncer answers for its own limits, not PostgreSQL's slots
    const key = serverKey(entry.pool.target);
    byServer.set(key, [...(byServer.get(key) ?? []), entry]);
  }
  for (const [key, entries] of byServer) {
    // The least privileged role decides; others as the probes saw them.
    const freeBefore = serverSlots(entries.map((e) => e.facts)).free - observer.connectionsOn(key);
    const names = new Set(entries.map((e) => e.pool.name));
    for (let phase = 0; phase < ran.phases.length; phase++) {
      const mine: AgentResult[] = ran.results.filter((a) => a.phase === phase && names.has(a.pool));
      const note = admissionNote({
        server: key,
        phase: ran.phases[phase]!.label,
        freeBefore,
        admitted: mine.filter((a) => a.ok).length,
        slotRefusals: mine.filter((a) => a.failure && isSlotRefusal(a.failure.class)).length,
      });
      if (note) notes.push(note);
    }
  }
  return notes;
}
