/**
 * The load-test engine: capacity, burst and sustained runs against the configured pools. Plain
 * TypeScript (no vscode); the language server and the CLI both call `runLoadTest`.
 */
import { randomBytes } from 'node:crypto';
import { setMaxListeners } from 'node:events';
import type { LoadTestOptions, LoadTestPhase, LoadTestReport } from '../../../shared/loadTest';
import type { PoolCapacitySettings } from '../../../shared/settings';
import type { PoolerFacts } from '../capacity/poolerFacts';
import { usableSlots } from '../capacity/serverBudget';
import { APPLICATION_NAME_PREFIX, probeServer, type ServerFacts } from '../capacity/serverFacts';
import type { PoolName, ResolvedPool } from '../config/poolConfig';
import { classifyFailure, FAILURE_LABELS, isSlotRefusal } from '../db/connectFailure';
import { describeTarget, serverKey } from '../db/connectionTarget';
import { abortError } from '../db/openConnection';
import {
  AcquireTimeoutError,
  AgentPool,
  type Connector,
  DirectConnector,
  type Lease,
  PoolExhaustedError,
} from './agentPool';
import { summarizeLatencies } from './latency';
import { ServerObserver } from './observer';
import { checkLoadTestSafety, LoadTestRefused, type ServerDemand } from './safety';
import {
  type AgentFailure,
  admissionNote,
  detectLeak,
  groupFailures,
  judgeRun,
  type PoolPhaseOutcome,
} from './verdict';

export { LoadTestRefused } from './safety';

/** What the engine needs of a pool (a ResolvedPool fits). */
export type LoadTestPool = Pick<ResolvedPool, 'name' | 'poolSize' | 'minSize' | 'target'>;

export interface LoadTestProgress {
  /** Agents finished (succeeded or failed) so far, over all phases. */
  done: number;
  total: number;
  message: string;
}

export interface LoadTestContext {
  settings: PoolCapacitySettings;
  /** Aborting ends the test promptly and closes every connection it opened. */
  signal?: AbortSignal;
  onProgress?: (progress: LoadTestProgress) => void;
  /** Test hook, never user input: this many agents per round keep their connection (a deliberate leak). */
  leakPerRound?: number;
  /** Test hook: the run id to use (default random), so a test knows the application_name up front. */
  runId?: string;
}

/** The test could not start: bad options, a pool missing from the config, or a server that cannot be probed. */
export class LoadTestSetupError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'LoadTestSetupError';
  }
}

/** The pools a selection names; `both` is project and shared. */
export function selectPools<P extends LoadTestPool>(
  pools: readonly P[],
  selection: LoadTestOptions['pool'],
): P[] {
  const names: PoolName[] = selection === 'both' ? ['project', 'shared'] : [selection];
  return names.map((name) => {
    const pool = pools.find((p) => p.name === name);
    if (!pool) throw new LoadTestSetupError(`the config has no ${name} pool`);
    if (pool.poolSize === undefined)
      throw new LoadTestSetupError(`the ${name} pool has no valid poolSize (a whole number of at least 1)`);
    return pool;
  });
}

/**
 * Splits N agents over pools in proportion to their sizes (largest remainder). With `both`, the
 * agents of a swarm each work through one of the pools, as the predecessor's planning counted them
 * ("burst capacity: 55 agents, project + shared"); at or below the sum of the sizes no pool gets more
 * agents than its size.
 */
export function splitAgents(agents: number, sizes: readonly number[]): number[] {
  const total = sizes.reduce((a, b) => a + b, 0);
  if (sizes.length === 1 || total === 0) return sizes.map((_, i) => (i === 0 ? agents : 0));
  const exact = sizes.map((s) => (agents * s) / total);
  const shares = exact.map(Math.floor);
  let left = agents - shares.reduce((a, b) => a + b, 0);
  const byRemainder = exact
    .map((e, i) => ({ i, r: e - Math.floor(e) }))
    .sort((a, b) => b.r - a.r || a.i - b.i);
  for (const { i } of byRemainder) {
    if (left-- <= 0) break;
    shares[i]!++;
  }
  return shares;
}

/** The most connections a test may hold at once on each server, the observer included. */
export function serverDemands(
  plan: { pool: LoadTestPool; agents: number; facts?: ServerFacts }[],
  mode: LoadTestOptions['mode'],
): ServerDemand[] {
  const byServer = new Map<string, ServerDemand>();
  for (const { pool, agents, facts } of plan) {
    const key = serverKey(pool.target);
    const demand = byServer.get(key) ?? {
      serverKey: key,
      host: pool.target.host,
      facts: [],
      connectionsNeeded: 1,
    };
    const size = pool.poolSize ?? agents;
    demand.connectionsNeeded +=
      mode === 'direct' ? agents : Math.max(Math.min(agents, size), pool.minSize ?? 0);
    if (facts) demand.facts.push(facts);
    byServer.set(key, demand);
  }
  return [...byServer.values()];
}

export function validateOptions(options: LoadTestOptions): void {
  const whole = (name: string, value: number, min: number, max: number) => {
    if (!Number.isInteger(value) || value < min || value > max)
      throw new LoadTestSetupError(`${name} must be a whole number from ${min} to ${max}, not ${value}`);
  };
  whole('agents', options.agents, 1, 10_000);
  whole('duration', options.durationMs, 0, 3_600_000);
  whole('bursts', options.bursts, 1, 1000);
  whole('pause', options.pauseMs, 0, 3_600_000);
  whole('rounds', options.rounds, 1, 1000);
  whole('acquire timeout', options.acquireTimeoutMs, 1, 3_600_000);
  if (!['capacity', 'burst', 'sustained'].includes(options.shape))
    throw new LoadTestSetupError(`unknown test shape ${options.shape}`);
  if (!['pool', 'direct'].includes(options.mode))
    throw new LoadTestSetupError(`mode must be pool or direct, not ${options.mode}`);
  if (!['fail', 'wait'].includes(options.onExhausted))
    throw new LoadTestSetupError(`on-exhausted must be fail or wait, not ${options.onExhausted}`);
  if (!['project', 'shared', 'both'].includes(options.pool))
    throw new LoadTestSetupError(`pool must be project, shared or both, not ${options.pool}`);
}

export function newRunId(): string {
  return randomBytes(4).toString('hex');
}

interface AgentResult {
  pool: PoolName;
  phase: number;
  ok: boolean;
  failure?: AgentFailure;
  /** acquire + SELECT 1 */
  latencyMs?: number;
  connectMs?: number;
  acquireMs?: number;
}

interface PoolRun {
  pool: LoadTestPool;
  agents: number;
  connector: Connector;
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

function pause(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise<void>((resolve) => {
    if (signal.aborted || ms <= 0) return resolve();
    const timer = setTimeout(finish, ms);
    function finish() {
      clearTimeout(timer);
      signal.removeEventListener('abort', finish);
      resolve();
    }
    signal.addEventListener('abort', finish, { once: true });
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

const round1 = (ms: number) => Math.round(ms * 10) / 10;

/**
 * Runs one load test. Throws LoadTestSetupError (bad options, missing pool, server unreachable) or
 * LoadTestRefused (safety, unless options.force) before any test connection is opened; otherwise
 * always resolves with a report, also when cancelled or when the server dies mid-test.
 */
export async function runLoadTest(
  pools: readonly LoadTestPool[],
  options: LoadTestOptions,
  context: LoadTestContext,
): Promise<LoadTestReport> {
  validateOptions(options);
  const { settings } = context;
  const selected = selectPools(pools, options.pool);
  const shares = splitAgents(
    options.agents,
    selected.map((p) => p.poolSize!),
  );

  // Read the servers' free slots (one short probe per pool: roles may differ).
  const probes = await Promise.all(
    selected.map((pool) =>
      probeServer(pool.target, { connectTimeoutMs: settings.connectTimeoutMs, signal: context.signal }),
    ),
  );
  if (context.signal?.aborted) throw abortError();
  const plan = selected.map((pool, i) => {
    const probe = probes[i]!;
    if (!probe.ok) {
      const f = probe.failure;
      throw new LoadTestSetupError(
        `cannot reach the ${pool.name} pool's server ${describeTarget(pool.target)}: ${FAILURE_LABELS[f.class]}${f.code ? ` (${f.code})` : ''}: ${f.message}`,
      );
    }
    return { pool, agents: shares[i]!, facts: probe.facts };
  });
  if (!options.force) {
    const safety = checkLoadTestSafety(serverDemands(plan, options.mode), settings);
    if (!safety.ok) throw new LoadTestRefused(safety.reasons);
  }

  const runId = context.runId ?? newRunId();
  const applicationName = `${APPLICATION_NAME_PREFIX}${runId}`;
  const startedAt = new Date().toISOString();
  const run = new AbortController();
  const onOuterAbort = () => run.abort();
  if (context.signal?.aborted) run.abort();
  context.signal?.addEventListener('abort', onOuterAbort, { once: true });
  const signal = run.signal;
  // Every agent's connect and hold listens for the cancel: hundreds of listeners are expected.
  setMaxListeners(0, signal);

  // One observer per server, opened before the agents so it has its slot.
  const servers = new Map<string, LoadTestPool>();
  const poolers = new Map<string, PoolerFacts | undefined>();
  for (const { pool, facts } of plan) {
    if (servers.has(serverKey(pool.target))) continue;
    servers.set(serverKey(pool.target), pool);
    poolers.set(serverKey(pool.target), facts.pooler);
  }
  const notes: string[] = [];
  const observers: ServerObserver[] = [];
  for (const [key, pool] of servers) {
    const opened = await ServerObserver.open(key, pool.target, settings.connectTimeoutMs, poolers.get(key));
    if (opened.observer) observers.push(opened.observer);
    else notes.push(`no observer connection on ${key} (${opened.failure?.message}): peak not sampled`);
  }

  const runs: PoolRun[] = plan.map(({ pool, agents }) => {
    const connect = {
      target: pool.target,
      connectTimeoutMs: settings.connectTimeoutMs,
      applicationName,
      signal,
    };
    const connector =
      options.mode === 'direct'
        ? new DirectConnector(connect)
        : new AgentPool({
            ...connect,
            max: pool.poolSize!,
            min: Math.min(pool.minSize ?? 0, pool.poolSize!),
            onExhausted: options.onExhausted,
            acquireTimeoutMs: options.acquireTimeoutMs,
          });
    return { pool, agents, connector };
  });
  let closing: Promise<void> | undefined;
  const closeAll = () => {
    closing ??= Promise.all(runs.map((r) => r.connector.close())).then(() => {});
    return closing;
  };
  // Cancel closes everything at once, without waiting for agents to notice.
  signal.addEventListener('abort', () => void closeAll(), { once: true });

  const countRun = async (): Promise<number | undefined> => {
    const counts = await Promise.all(observers.map((o) => o.count(applicationName)));
    if (counts.some((c) => c === undefined)) return undefined;
    return counts.reduce<number>((a, b) => a + (b ?? 0), 0);
  };

  // Sample the run's connections on the server while it runs, for the peak. The first sample,
  // before any agent starts, also pays the observer's first-query costs (catalog caches, the
  // statement's plan) ahead of the run instead of during its connect burst.
  let peak = 0;
  if (observers.length > 0) peak = (await countRun()) ?? 0;
  let sampling = observers.length > 0;
  const sampler = (async () => {
    while (sampling) {
      const n = await countRun();
      if (n === undefined) break;
      peak = Math.max(peak, n);
      await pause(20, signal);
    }
  })();

  const phaseCount =
    options.shape === 'burst' ? options.bursts : options.shape === 'sustained' ? options.rounds : 1;
  const total = phaseCount * options.agents;
  const results: AgentResult[] = [];
  const phases: LoadTestPhase[] = [];
  const connectionsAfterRounds: number[] = [];
  let done = 0;
  const started = performance.now();

  // The periodic sampler can miss a short peak (agents holding briefly, a busy machine): also
  // sample once the moment every agent of a phase has its connection or has failed to get one.
  const peakSamples: Promise<void>[] = [];
  const samplePeakNow = () => {
    if (!sampling) return;
    peakSamples.push(
      countRun().then((n) => {
        if (n !== undefined) peak = Math.max(peak, n);
      }),
    );
  };

  const runAgent = async (
    r: PoolRun,
    phase: number,
    leak: boolean,
    acquireSettled: () => void,
  ): Promise<AgentResult> => {
    const t0 = performance.now();
    let lease: Lease;
    try {
      lease = await r.connector.acquire();
    } catch (error) {
      return {
        pool: r.pool.name,
        phase,
        ok: false,
        failure: classifyAgentError(error, r.pool.target.password, signal),
      };
    } finally {
      acquireSettled();
    }
    const acquired = lease.waitedMs;
    try {
      await lease.connection.client.query('SELECT 1');
      const latencyMs = performance.now() - t0;
      await hold(options.durationMs, signal, lease.connection.lost);
      if (!leak) r.connector.release(lease);
      return {
        pool: r.pool.name,
        phase,
        ok: true,
        latencyMs,
        ...(lease.cold ? { connectMs: acquired } : { acquireMs: acquired }),
      };
    } catch (error) {
      r.connector.release(lease, true);
      return {
        pool: r.pool.name,
        phase,
        ok: false,
        failure: classifyAgentError(error, r.pool.target.password, signal),
      };
    }
  };

  const phaseLabel = (i: number) =>
    options.shape === 'burst'
      ? `burst ${i + 1}`
      : options.shape === 'sustained'
        ? `round ${i + 1}`
        : 'capacity';

  try {
    await Promise.all(runs.map((r) => (r.connector instanceof AgentPool ? r.connector.warmUp() : undefined)));
    for (let phase = 0; phase < phaseCount && !signal.aborted; phase++) {
      if (phase > 0 && options.shape === 'burst') {
        await pause(options.pauseMs, signal);
        if (signal.aborted) break;
      }
      const label = phaseLabel(phase);
      const t0 = performance.now();
      let leaks = options.shape === 'sustained' ? (context.leakPerRound ?? 0) : 0;
      // All agents of the phase start in the same tick, every pool at once.
      const agents: Promise<AgentResult>[] = [];
      let acquiring = runs.reduce((n, r) => n + r.agents, 0);
      const acquireSettled = () => {
        if (--acquiring === 0) samplePeakNow();
      };
      for (const r of runs) {
        for (let i = 0; i < r.agents; i++) {
          agents.push(
            runAgent(r, phase, leaks-- > 0, acquireSettled).then((result) => {
              done++;
              context.onProgress?.({ done, total, message: `${label}: ${done}/${total} agents done` });
              return result;
            }),
          );
        }
      }
      const phaseResults = await Promise.all(agents);
      results.push(...phaseResults);
      const succeeded = phaseResults.filter((a) => a.ok).length;
      const entry: LoadTestPhase = {
        label,
        agents: phaseResults.length,
        succeeded,
        failed: phaseResults.length - succeeded,
        wallMs: round1(performance.now() - t0),
      };
      if (options.shape === 'sustained' && !signal.aborted) {
        const after = await settledCount(countRun, () =>
          runs.reduce((n, r) => n + r.connector.openCount(), 0),
        );
        if (after !== undefined) {
          entry.connectionsAfter = after;
          connectionsAfterRounds.push(after);
          peak = Math.max(peak, after);
        }
      }
      phases.push(entry);
    }
  } finally {
    sampling = false;
    context.signal?.removeEventListener('abort', onOuterAbort);
  }
  const wallMs = round1(performance.now() - started);
  await closeAll();
  await Promise.all([sampler, ...peakSamples]);

  // Backends exit asynchronously after the client closes: poll briefly for them to go.
  let leftover = 0;
  const leftoverObservers = await Promise.all(
    [...servers].map(async ([key, pool]) => {
      const existing = observers.find((o) => o.serverKey === key && o.alive);
      if (existing) return { key, observer: existing };
      const reopened = await ServerObserver.open(
        key,
        pool.target,
        Math.min(settings.connectTimeoutMs, 2000),
        poolers.get(key),
      );
      if (reopened.observer) observers.push(reopened.observer);
      return { key, observer: reopened.observer, failure: reopened.failure };
    }),
  );
  for (const { key, observer, failure } of leftoverObservers) {
    if (!observer) {
      notes.push(
        failure && ['connection-refused', 'server-starting'].includes(failure.class)
          ? `${key} was down after the run (${FAILURE_LABELS[failure.class]}), so none of the run's connections remain on it`
          : `could not count the run's connections left on ${key} (${failure?.message ?? 'no observer'})`,
      );
      continue;
    }
    const deadline = Date.now() + 2000;
    for (;;) {
      const n = await observer.count(applicationName);
      if (n === undefined) {
        notes.push(`lost the observer on ${key} while counting leftover connections`);
        break;
      }
      if (n === 0 || Date.now() >= deadline) {
        leftover += n;
        break;
      }
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }
  await Promise.all(observers.map((o) => o.close()));

  const cancelled = signal.aborted;
  const leakDetected = options.shape === 'sustained' && detectLeak(connectionsAfterRounds);
  const outcomes: PoolPhaseOutcome[] = [];
  for (let phase = 0; phase < phases.length; phase++) {
    for (const r of runs) {
      const mine = results.filter((a) => a.phase === phase && a.pool === r.pool.name);
      outcomes.push({
        phase: phases[phase]!.label,
        pool: r.pool.name,
        poolSize: r.pool.poolSize!,
        agents: mine.length,
        succeeded: mine.filter((a) => a.ok).length,
        failures: groupFailures(mine.flatMap((a) => (a.failure ? [a.failure] : []))).failures,
      });
    }
  }
  if (options.mode === 'direct' && !cancelled)
    notes.push(...directAdmissionNotes(plan, phases, results, observers));
  const judgement = judgeRun({
    outcomes,
    mode: options.mode,
    onExhausted: options.onExhausted,
    leakDetected,
    connectionsAfterRounds,
    leftover,
    cancelled,
  });
  for (const p of phases) p.verdict = judgement.phaseVerdicts.get(p.label) ?? 'PASS';

  const succeeded = results.filter((a) => a.ok).length;
  const grouped = groupFailures(results.flatMap((a) => (a.failure ? [a.failure] : [])));
  const pick = (key: 'latencyMs' | 'connectMs' | 'acquireMs') =>
    results.flatMap((a) => (a[key] === undefined ? [] : [a[key]!]));
  return {
    runId,
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
    wallMs,
    latencyMs: summarizeLatencies(pick('latencyMs')),
    connectMs: summarizeLatencies(pick('connectMs')),
    acquireMs: summarizeLatencies(pick('acquireMs')),
    failures: grouped.failures,
    failureExamples: grouped.failureExamples,
    phases,
    peakServerConnections: peak,
    leftover,
    leakDetected,
    cancelled,
    verdict: judgement.verdict,
    verdictReasons: [...judgement.reasons, ...notes],
    startedAt,
  };
}

/** Direct mode: per server and phase, say so when slot refusals came before the free slots were used. */
function directAdmissionNotes(
  plan: { pool: LoadTestPool; facts: ServerFacts }[],
  phases: LoadTestPhase[],
  results: AgentResult[],
  observers: ServerObserver[],
): string[] {
  const notes: string[] = [];
  const byServer = new Map<string, { pool: LoadTestPool; facts: ServerFacts }[]>();
  for (const entry of plan) {
    if (entry.facts.pooler) continue; // PgBouncer answers for its own limits, not PostgreSQL's slots
    const key = serverKey(entry.pool.target);
    byServer.set(key, [...(byServer.get(key) ?? []), entry]);
  }
  for (const [key, entries] of byServer) {
    const observerSlots = observers.filter((o) => o.serverKey === key).length;
    // The least privileged role decides; others as the probes saw them.
    const freeBefore =
      Math.min(...entries.map(({ facts }) => usableSlots(facts) - facts.usedByOthers)) - observerSlots;
    const names = new Set(entries.map((e) => e.pool.name));
    for (let phase = 0; phase < phases.length; phase++) {
      const mine = results.filter((a) => a.phase === phase && names.has(a.pool));
      const note = admissionNote({
        server: key,
        phase: phases[phase]!.label,
        freeBefore,
        admitted: mine.filter((a) => a.ok).length,
        slotRefusals: mine.filter((a) => a.failure && isSlotRefusal(a.failure.class)).length,
      });
      if (note) notes.push(note);
    }
  }
  return notes;
}

/**
 * The run's connections on the server once closed ones have gone: backend exit is asynchronous,
 * so poll (briefly) until the server count is no more than what we still hold open.
 */
async function settledCount(
  count: () => Promise<number | undefined>,
  heldOpen: () => number,
  timeoutMs = 500,
): Promise<number | undefined> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const n = await count();
    if (n === undefined || n <= heldOpen() || Date.now() >= deadline) return n;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
