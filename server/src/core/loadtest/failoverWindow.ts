/**
 * The failover window of a load test on a Patroni cluster, from the agents' own outcomes: the last
 * success before the first failure, the first failure, the first success after the last failure,
 * each on the member it happened on; and its judgement against the config's failoverTimeout. Pure.
 */
import type { FailoverEvent, FailoverReport, FailoverWindow, Verdict } from '../../../../shared/loadTest';
import { FAILURE_LABELS, type FailureClass } from '../connection/connectFailure';

/**
 * What losing the leader looks like to an agent: its session ended by a fast shutdown (57P01), a
 * write refused by a member that is now a standby (25006), nobody listening, no answer in time, the
 * connection cut, or a server starting up or shutting down.
 */
export const FAILOVER_CLASSES: readonly FailureClass[] = [
  'admin-shutdown',
  'read-only',
  'connection-refused',
  'connect-timeout',
  'query-timeout',
  'connection-lost',
  'server-starting',
];

export const isFailoverClass = (cls: string): boolean => FAILOVER_CLASSES.includes(cls as FailureClass);

/** One agent's outcome as the window reads it. */
export interface AgentEvent {
  at: number;
  ok: boolean;
  /** host:port */
  server?: string;
  failureClass?: string;
}

/**
 * The window, or undefined when no agent failed the way a lost leader makes them fail. Failures of
 * other kinds (pool exhausted, a role limit) are the capacity verdict's business, not the window's.
 */
export function computeFailoverWindow(
  events: readonly AgentEvent[],
  memberOf: (server: string | undefined) => string | undefined,
): FailoverWindow | undefined {
  const sorted = [...events].sort((a, b) => a.at - b.at);
  const failures = sorted.filter((e) => !e.ok && e.failureClass && isFailoverClass(e.failureClass));
  if (failures.length === 0) return undefined;
  const first = failures[0]!;
  const last = failures[failures.length - 1]!;
  const successes = sorted.filter((e) => e.ok);
  const before = successes.filter((e) => e.at <= first.at).pop();
  const after = successes.find((e) => e.at > last.at);
  const byClass: Record<string, number> = {};
  for (const f of failures) byClass[f.failureClass!] = (byClass[f.failureClass!] ?? 0) + 1;
  const event = (e: AgentEvent): FailoverEvent => ({
    at: e.at,
    ...(memberOf(e.server) ? { member: memberOf(e.server) } : {}),
    ...(e.failureClass ? { class: e.failureClass } : {}),
  });
  return {
    ...(before ? { lastSuccessBefore: event(before) } : {}),
    firstFailure: event(first),
    lastFailure: event(last),
    ...(after
      ? {
          firstSuccessAfter: event(after),
          outageMs: after.at - first.at,
          ...(before ? { gapMs: after.at - before.at } : {}),
        }
      : {}),
    failures: byClass,
  };
}

/** Whether an agent's failure lies inside the window (it is the failover's, judged by the window). */
export function insideWindow(window: FailoverWindow | undefined, event: AgentEvent): boolean {
  if (!window || event.ok || !event.failureClass || !isFailoverClass(event.failureClass)) return false;
  return event.at >= window.firstFailure.at && event.at <= window.lastFailure.at;
}

const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`;

/**
 * PASS when the agents worked again within failoverTimeout (or nothing failed); FAIL when they
 * did later, or not at all though the run outlasted the timeout; WARN when the run ended inside the
 * window before the timeout was up (not verified: run more rounds).
 */
export function judgeFailoverWindow(
  window: FailoverWindow | undefined,
  timeoutS: number,
  endedAt: number,
): { verdict: Verdict; summary: string } {
  const limit = timeoutS * 1000;
  if (!window) return { verdict: 'PASS', summary: 'no agent lost the leader during the run' };
  const where = (e: FailoverEvent | undefined) => (e?.member ? ` on ${e.member}` : '');
  const classes = Object.entries(window.failures)
    .map(([cls, n]) => `${n} ${FAILURE_LABELS[cls as FailureClass] ?? cls}`)
    .join(', ');
  if (!window.firstSuccessAfter) {
    const waited = endedAt - window.firstFailure.at;
    return waited > limit
      ? {
          verdict: 'FAIL',
          summary: `no agent succeeded for ${seconds(waited)} after the first failure${where(window.firstFailure)} (failoverTimeout ${timeoutS} s; ${classes})`,
        }
      : {
          verdict: 'WARN',
          summary: `the run ended ${seconds(waited)} into the failover window, before any agent succeeded again: not verified against failoverTimeout ${timeoutS} s (run more rounds; ${classes})`,
        };
  }
  const gap = window.gapMs ?? window.outageMs!;
  const text = `failover window ${seconds(gap)}: last success${where(window.lastSuccessBefore)}, first failure${where(window.firstFailure)} after ${seconds(window.firstFailure.at - (window.lastSuccessBefore?.at ?? window.firstFailure.at))}, first success after${where(window.firstSuccessAfter)} ${seconds(window.outageMs!)} after it (${classes})`;
  return gap <= limit
    ? { verdict: 'PASS', summary: `${text}: within failoverTimeout ${timeoutS} s` }
    : { verdict: 'FAIL', summary: `${text}: longer than failoverTimeout ${timeoutS} s` };
}

/** The report's failover section from the run's leaders, window and burst. */
export function failoverReport(
  parts: Pick<FailoverReport, 'timeoutS' | 'leaders' | 'window' | 'reconnectBurst'>,
  endedAt: number,
): FailoverReport {
  const judged = judgeFailoverWindow(parts.window, parts.timeoutS, endedAt);
  const leaders = parts.leaders.map((l) => l.member).join(' -> ');
  return {
    ...parts,
    verdict: judged.verdict,
    summary: `leader ${leaders}; ${judged.summary}`,
  };
}
