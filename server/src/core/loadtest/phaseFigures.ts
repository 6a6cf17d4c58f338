/**
 * What a phase's agents add to its line of the report for the charts: when it started, its cold
 * connects and warm checkouts, and its failures by class. Kept apart so the engine only calls it.
 */
import type { LoadTestPhase } from '../../../../shared/loadTest';
import { summarizeLatencies } from './latency';
import { type AgentFailure, groupFailures } from './verdict';

interface PhaseAgent {
  ok: boolean;
  failure?: AgentFailure;
  connectMs?: number;
  acquireMs?: number;
}

/** `startedPerfMs` is the phase's start on performance.now()'s clock; the report keeps epoch ms. */
export function phaseFigures(
  agents: readonly PhaseAgent[],
  startedPerfMs: number,
): Pick<LoadTestPhase, 'startedAtMs' | 'connectMs' | 'acquireMs' | 'failures'> {
  const pick = (key: 'connectMs' | 'acquireMs') =>
    agents.flatMap((a) => (a[key] === undefined ? [] : [a[key]!]));
  return {
    startedAtMs: Math.round(Date.now() - (performance.now() - startedPerfMs)),
    connectMs: summarizeLatencies(pick('connectMs')),
    acquireMs: summarizeLatencies(pick('acquireMs')),
    failures: groupFailures(agents.flatMap((a) => (a.failure ? [a.failure] : []))).failures,
  };
}
