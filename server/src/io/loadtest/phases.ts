/**
 * Running a planned load test: the agents of each phase (the capacity test's one, each burst,
 * each sustained round) start in the same tick, every pool at once, and each gets, uses, holds
 * and releases one connection. The run's observer samples the peak and counts after each round.
 */
import type { LoadTestOptions, LoadTestPhase } from '../../../../shared/loadTest';
import type { PoolName } from '../../core/config/poolConfig';
import { classifyFailure } from '../../core/connection/connectFailure';
import { phaseFigures } from '../../core/loadtest/phaseFigures';
import type { LoadTestPool, PlannedPool } from '../../core/loadtest/plan';
import type { AgentFailure } from '../../core/loadtest/verdict';
import { abortError } from '../db/openConnection';
import {
  AcquireTimeoutError,
  AgentPool,
  type Connector,
  DirectConnector,
  type Lease,
  PoolExhaustedError,
} from './agentPool';
import type { RunObserver } from './runObserver';
import { pause } from './waits';

export interface LoadTestProgress {
  /** Agents finished (succeeded or failed) so far, over all phases. */
  done: number;
  total: number;
  message: string;
}

export interface AgentResult {
  pool: PoolName;
  phase: number;
  ok: boolean;
  failure?: AgentFailure;
  /** acquire + SELECT 1 */
  latencyMs?: number;
  connectMs?: number;
  acquireMs?: number;
  /** Epoch ms of the outcome: the query's answer, or the failure (the failover window's events). */
  at?: number;
  /** host:port the agent's connection went to (or was aimed at, when it got none). */
  server?: string;
  /** A failure after the query answered (the connection lost during the hold): when it answered. */
  answeredAt?: number;
}

/** One pool of the run with its agents and what they get their connections from. */
export interface PoolRun {
  pool: LoadTestPool;
  agents: number;
  connector: Connector;
  /** The agent's statement (default SELECT 1); a cluster's run asks one only a leader can answer. */
  query?: string;
}

/** What the phases ran: every agent's result, a line per phase, and the sustained rounds' counts. */
export interface PhasesRun {
  results: AgentResult[];
  phases: LoadTestPhase[];
  connectionsAfterRounds: number[];
  wallMs: number;
}

export interface PhaseContext {
  /** The run's signal: aborting it ends every phase promptly. */
  signal: AbortSignal;
  onProgress?: (progress: LoadTestProgress) => void;
  /** Test hook: this many agents per sustained round keep their connection (a deliberate leak). */
  leakPerRound?: number;
  /** Awaited before each phase (a cluster's run: until the new leader is found). */
  beforePhase?: () => Promise<void>;
  /** Told of every failed agent (a cluster's run looks for the new leader). */
  onAgentFailure?: (result: AgentResult) => void;
}

/** The connector each pool's agents use: the pool under test, or a connection each in direct mode. */
export function poolRuns(
  plan: readonly PlannedPool[],
  options: LoadTestOptions,
  connect: { connectTimeoutMs: number; applicationName: string; signal: AbortSignal },
): PoolRun[] {
  return plan.map(({ pool, agents }) => {
    const target = { ...connect, target: pool.target };
    const connector =
      options.mode === 'direct'
        ? new DirectConnector(target)
        : new AgentPool({
            ...target,
            max: pool.poolSize!,
            min: Math.min(pool.minSize ?? 0, pool.poolSize!),
            onExhausted: options.onExhausted,
            acquireTimeoutMs: options.acquireTimeoutMs,
          });
    return { pool, agents, connector };
  });
}

export function phaseCount(options: LoadTestOptions): number {
  return options.shape === 'burst' ? options.bursts : options.shape === 'sustained' ? options.rounds : 1;
}

function phaseLabel(options: LoadTestOptions, i: number): string {
  return options.shape === 'burst'
    ? `burst ${i + 1}`
    : options.shape === 'sustained'
      ? `round ${i + 1}`
      : 'capacity';
}

const round1 = (ms: number) => Math.round(ms * 10) / 10;

/** Runs every phase of the test in order, until the last or the cancel. */
export async function runPhases(
  runs: readonly PoolRun[],
  options: LoadTestOptions,
  context: PhaseContext,
  observer: RunObserver,
): Promise<PhasesRun> {
  const { signal } = context;
  const count = phaseCount(options);
  const progress = { done: 0, total: count * options.agents };
  const ran: PhasesRun = { results: [], phases: [], connectionsAfterRounds: [], wallMs: 0 };
  const started = performance.now();
  await Promise.all(runs.map((r) => (r.connector instanceof AgentPool ? r.connector.warmUp() : undefined)));
  for (let phase = 0; phase < count && !signal.aborted; phase++) {
    await context.beforePhase?.();
    if (phase > 0 && options.shape === 'burst') {
      await pause(options.pauseMs, signal);
      if (signal.aborted) break;
    }
    const t0 = performance.now();
    const label = phaseLabel(options, phase);
    const phaseResults = await runPhase(runs, options, context, observer, { phase, label, progress });
    ran.results.push(...phaseResults);
    const succeeded = phaseResults.filter((a) => a.ok).length;
    const entry: LoadTestPhase = {
      label,
      agents: phaseResults.length,
      succeeded,
      failed: phaseResults.length - succeeded,
      wallMs: round1(performance.now() - t0),
      ...phaseFigures(phaseResults, t0),
    };
    if (options.shape === 'sustained' && !signal.aborted) {
      const after = await observer.countAfterRound(() =>
        runs.reduce((n, r) => n + r.connector.openCount(), 0),
      );
      if (after !== undefined) {
        entry.connectionsAfter = after;
        ran.connectionsAfterRounds.push(after);
      }
    }
    ran.phases.push(entry);
  }
  ran.wallMs = round1(performance.now() - started);
  return ran;
}

/** One phase: all its agents start in the same tick, every pool at once. */
function runPhase(
  runs: readonly PoolRun[],
  options: LoadTestOptions,
  context: PhaseContext,
  observer: RunObserver,
  at: { phase: number; label: string; progress: { done: number; total: number } },
): Promise<AgentResult[]> {
  const { phase, label, progress } = at;
  let leaks = options.shape === 'sustained' ? (context.leakPerRound ?? 0) : 0;
  const agents: Promise<AgentResult>[] = [];
  let acquiring = runs.reduce((n, r) => n + r.agents, 0);
  const acquireSettled = () => {
    if (--acquiring === 0) observer.samplePeakNow();
  };
  for (const r of runs) {
    for (let i = 0; i < r.agents; i++) {
      agents.push(
        runAgent(r, phase, options.durationMs, leaks-- > 0, context.signal, acquireSettled).then((result) => {
          if (!result.ok) context.onAgentFailure?.(result);
          progress.done++;
          context.onProgress?.({
            done: progress.done,
            total: progress.total,
            message: `${label}: ${progress.done}/${progress.total} agents done`,
          });
          return result;
        }),
      );
    }
  }
  return Promise.all(agents);
}

/** One agent: gets a connection, runs SELECT 1, holds it, gives it back (or keeps it: `leak`). */
async function runAgent(
  r: PoolRun,
  phase: number,
  holdMs: number,
  leak: boolean,
  signal: AbortSignal,
  acquireSettled: () => void,
): Promise<AgentResult> {
  const t0 = performance.now();
  const aimed = r.connector.currentTarget();
  let server = `${aimed.host}:${aimed.port}`;
  let answeredAt: number | undefined;
  const failed = (error: unknown): AgentResult => ({
    pool: r.pool.name,
    phase,
    ok: false,
    failure: classifyAgentError(error, r.pool.target.password, signal),
    at: Date.now(),
    server,
    ...(answeredAt !== undefined ? { answeredAt } : {}),
  });
  let lease: Lease;
  try {
    lease = await r.connector.acquire();
  } catch (error) {
    return failed(error);
  } finally {
    acquireSettled();
  }
  const acquired = lease.waitedMs;
  server = `${lease.connection.client.host}:${lease.connection.client.port}`;
  try {
    await lease.connection.client.query(r.query ?? 'SELECT 1');
    const latencyMs = performance.now() - t0;
    const at = Date.now();
    answeredAt = at;
    await hold(holdMs, signal, lease.connection.lost);
    if (!leak) r.connector.release(lease);
    return {
      pool: r.pool.name,
      phase,
      ok: true,
      latencyMs,
      at,
      server,
      ...(lease.cold ? { connectMs: acquired } : { acquireMs: acquired }),
    };
  } catch (error) {
    r.connector.release(lease, true);
    return failed(error);
  }
}

/** Rejects with the abort error on abort and with the connection's error if it dies during the hold. */
function hold(ms: number, signal: AbortSignal, lost: Promise<Error>): Promise<void> {
  if (signal.aborted) return Promise.reject(abortError());
  return new Promise<void>((resolve, reject) => {
    const done = (error?: Error) => {
      clearTimeout(timer);
      signal.removeEventListener('abort', onAbort);
      if (error) reject(error);
      else resolve();
    };
    const onAbort = () => done(abortError());
    const timer = setTimeout(() => done(), ms);
    signal.addEventListener('abort', onAbort, { once: true });
    void lost.then((error) => done(error));
  });
}

function classifyAgentError(error: unknown, password: string | undefined, signal: AbortSignal): AgentFailure {
  if (error instanceof PoolExhaustedError) return { class: 'pool-exhausted', message: error.message };
  if (error instanceof AcquireTimeoutError) return { class: 'acquire-timeout', message: error.message };
  // Whatever an abort broke (a connect, a query on a socket we closed) is a cancel, not a finding.
  if (signal.aborted) return { class: 'cancelled', message: 'cancelled' };
  const failure = classifyFailure(error, password);
  return {
    class: failure.class,
    message: failure.code ? `${failure.code}: ${failure.message}` : failure.message,
  };
}
