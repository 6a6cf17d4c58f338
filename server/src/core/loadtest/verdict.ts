import type { LoadTestMode, OnExhausted, Verdict } from '../../../../shared/loadTest';
import { FAILURE_LABELS, type FailureClass, REFUSAL_CLASSES } from '../connection/connectFailure';

/** One agent's failure as the engine records it (message already password-free). */
export interface AgentFailure {
  class: FailureClass;
  message: string;
}

/** Failure class -> count, and the first message seen per class. */
export function groupFailures(failures: readonly AgentFailure[]): {
  failures: Record<string, number>;
  failureExamples: Record<string, string>;
} {
  const counts: Record<string, number> = {};
  const examples: Record<string, string> = {};
  for (const f of failures) {
    counts[f.class] = (counts[f.class] ?? 0) + 1;
    examples[f.class] ??= f.message;
  }
  // Most frequent first, so tables and JSON read in order of importance.
  const order = Object.keys(counts).sort((a, b) => counts[b]! - counts[a]! || a.localeCompare(b));
  return {
    failures: Object.fromEntries(order.map((k) => [k, counts[k]!])),
    failureExamples: Object.fromEntries(order.map((k) => [k, examples[k]!])),
  };
}

/**
 * The failures that are the expected outcome of asking for more than the pool size: the pool's own
 * refusal (fail), its acquire timeout (wait), or the server's 53300 (direct, which probes the server).
 */
export function expectedOverflowClasses(
  mode: LoadTestMode,
  onExhausted: OnExhausted,
): readonly FailureClass[] {
  if (mode === 'direct') return REFUSAL_CLASSES;
  return onExhausted === 'fail' ? ['pool-exhausted'] : ['acquire-timeout'];
}

/** What one pool saw in one phase (a capacity run, a burst, a round). */
export interface PoolPhaseOutcome {
  phase: string;
  pool: string;
  poolSize: number;
  agents: number;
  succeeded: number;
  failures: Record<string, number>;
}

export interface Judgement {
  verdict: Verdict;
  reasons: string[];
}

// A real failure outranks a cancel: what did run failed, and that is the news.
const rank: Record<Verdict, number> = { PASS: 0, WARN: 1, CANCELLED: 2, FAIL: 3 };
export const worst = (a: Verdict, b: Verdict): Verdict => (rank[a] >= rank[b] ? a : b);

/**
 * PASS: everyone succeeded. WARN: agents above the pool size failed, the pool still served its full
 * size, and only in the expected way (50 agents on a pool of 40: 80% pass, 10 "pool exhausted"). FAIL:
 * any failure at or below the pool size, or an unexpected kind of failure.
 */
export function judgePoolPhase(
  outcome: PoolPhaseOutcome,
  mode: LoadTestMode,
  onExhausted: OnExhausted,
): Judgement {
  const failed = outcome.agents - outcome.succeeded;
  const where = `${outcome.phase}, ${outcome.pool} pool`;
  if (failed === 0) return { verdict: 'PASS', reasons: [] };
  const expected = expectedOverflowClasses(mode, onExhausted);
  const classes = Object.keys(outcome.failures) as FailureClass[];
  const described = classes.map((c) => `${outcome.failures[c]} ${FAILURE_LABELS[c] ?? c}`).join(', ');
  if (outcome.agents <= outcome.poolSize) {
    return {
      verdict: 'FAIL',
      reasons: [
        `${where}: ${failed} of ${outcome.agents} agents failed at or below the pool size ${outcome.poolSize} (${described})`,
      ],
    };
  }
  const unexpected = classes.filter((c) => !expected.includes(c));
  if (unexpected.length > 0) {
    return {
      verdict: 'FAIL',
      reasons: [`${where}: unexpected failures above the pool size ${outcome.poolSize} (${described})`],
    };
  }
  if (outcome.succeeded < outcome.poolSize) {
    return {
      verdict: 'FAIL',
      reasons: [
        `${where}: only ${outcome.succeeded} of the pool size ${outcome.poolSize} were served (${described})`,
      ],
    };
  }
  return {
    verdict: 'WARN',
    reasons: [
      `${where}: ${failed} agents above the pool size ${outcome.poolSize} failed as expected (${described})`,
    ],
  };
}

/** Whether the run's connection count grew from round to round (sustained). */
export function detectLeak(connectionsAfterRounds: readonly number[]): boolean {
  if (connectionsAfterRounds.length < 2) return false;
  return connectionsAfterRounds[connectionsAfterRounds.length - 1]! > connectionsAfterRounds[0]!;
}

export interface RunFacts {
  outcomes: PoolPhaseOutcome[];
  mode: LoadTestMode;
  onExhausted: OnExhausted;
  leakDetected: boolean;
  connectionsAfterRounds: number[];
  leftover: number;
  leftoverNote?: string;
  cancelled: boolean;
}

/** The run's verdict: the worst phase, and FAIL for a leak, leftover connections or a cancel. */
export function judgeRun(facts: RunFacts): Judgement & { phaseVerdicts: Map<string, Verdict> } {
  let verdict: Verdict = 'PASS';
  const reasons: string[] = [];
  const phaseVerdicts = new Map<string, Verdict>();
  for (const outcome of facts.outcomes) {
    const judgement = judgeCancellable(outcome, facts.mode, facts.onExhausted);
    verdict = worst(verdict, judgement.verdict);
    reasons.push(...judgement.reasons);
    phaseVerdicts.set(outcome.phase, worst(phaseVerdicts.get(outcome.phase) ?? 'PASS', judgement.verdict));
  }
  if (facts.leakDetected) {
    verdict = 'FAIL';
    reasons.push(
      `connection leak: the run's connections on the server grew across rounds (${facts.connectionsAfterRounds.join(' -> ')})`,
    );
  }
  if (facts.leftover > 0) {
    verdict = 'FAIL';
    reasons.push(`${facts.leftover} of the run's connections were still on the server after it ended`);
  }
  if (facts.leftoverNote) reasons.push(facts.leftoverNote);
  if (facts.cancelled) {
    verdict = worst(verdict, 'CANCELLED');
    reasons.push('cancelled before it finished');
  }
  return { verdict, reasons, phaseVerdicts };
}

/**
 * A phase the cancel cut short is judged on the agents it did not cut: CANCELLED when nothing else
 * went wrong, else whatever the rest earned (a FAIL stays a FAIL).
 */
function judgeCancellable(
  outcome: PoolPhaseOutcome,
  mode: LoadTestMode,
  onExhausted: OnExhausted,
): Judgement {
  const cancelledAgents = outcome.failures.cancelled ?? 0;
  if (cancelledAgents === 0) return judgePoolPhase(outcome, mode, onExhausted);
  const { cancelled: _, ...failures } = outcome.failures;
  const rest = judgePoolPhase(
    { ...outcome, agents: outcome.agents - cancelledAgents, failures },
    mode,
    onExhausted,
  );
  return rest.verdict === 'FAIL' ? rest : { verdict: 'CANCELLED', reasons: rest.reasons };
}

/** One direct-mode phase on one server: what was free before the test against what got in. */
export interface DirectAdmission {
  server: string;
  phase: string;
  freeBefore: number;
  admitted: number;
  slotRefusals: number;
}

/**
 * A backend takes its slot when it starts, before it authenticates, and only then checks the
 * reserved slots: so connects arriving together are refused while the server still has free
 * slots. Worth saying, because it is why a pool sized to the last free slot fails in a storm.
 */
export function admissionNote(a: DirectAdmission): string | undefined {
  if (a.slotRefusals === 0 || a.admitted >= a.freeBefore) return undefined;
  return (
    `${a.server} (${a.phase}): ${a.admitted} connections admitted though ${a.freeBefore} slots were free before the test; ` +
    'a connection attempt holds a slot while it authenticates, so connects arriving together are refused before the server is full'
  );
}
