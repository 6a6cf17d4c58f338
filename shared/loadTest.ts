/**
 * What a load test is asked to do and what it reports. Shared by the engine (server), the CLI,
 * the client (which renders it) and the protocol.
 */

export type LoadTestShape = 'capacity' | 'burst' | 'sustained';
/** pool: through a pool sized like the config's; direct: one raw connection per agent. */
export type LoadTestMode = 'pool' | 'direct';
/**
 * fail: fail at once when all pooled connections are out, as the psycopg2 pools our users' agents
 * run on do; wait: queue for a connection (up to acquireTimeoutMs).
 */
export type OnExhausted = 'fail' | 'wait';
/** patroni: the Patroni cluster's pool, on the leader its REST API names (followed through a failover). */
export type PoolSelection = 'project' | 'shared' | 'both' | 'patroni';

export interface LoadTestOptions {
  shape: LoadTestShape;
  /** Concurrent agents per round/burst. */
  agents: number;
  /** How long each agent holds its connection, ms. */
  durationMs: number;
  mode: LoadTestMode;
  onExhausted: OnExhausted;
  /** With onExhausted=wait: how long an agent may wait for a pooled connection, ms. */
  acquireTimeoutMs: number;
  pool: PoolSelection;
  /** burst: how many bursts, and the pause between them. */
  bursts: number;
  pauseMs: number;
  /** sustained: how many rounds. */
  rounds: number;
  /** Skip the safety refusal (free slots, host allowlist). */
  force: boolean;
}

/** What a load test does unless told otherwise; the agent count defaults to the config's target. */
export const loadTestDefaults: Omit<LoadTestOptions, 'shape' | 'agents'> = {
  durationMs: 200,
  mode: 'pool',
  onExhausted: 'fail',
  acquireTimeoutMs: 10_000,
  pool: 'project',
  bursts: 5,
  pauseMs: 100,
  rounds: 10,
  force: false,
};

/**
 * The one place a load test's options are completed, for the editor and the CLI alike: what was
 * chosen, else `loadTestDefaults`, and for the agent count the config's target agents.
 */
export function loadTestOptionsFor(
  targetAgents: number,
  chosen: Partial<LoadTestOptions> & Pick<LoadTestOptions, 'shape'>,
): LoadTestOptions {
  const given = Object.fromEntries(Object.entries(chosen).filter(([, value]) => value !== undefined));
  return { ...loadTestDefaults, agents: targetAgents, ...given } as LoadTestOptions;
}

export interface LatencySummary {
  p50: number;
  p95: number;
  p99: number;
  max: number;
  count: number;
}

/** One line of the results table: a capacity run, one burst, or one sustained round. */
export interface LoadTestPhase {
  label: string;
  agents: number;
  succeeded: number;
  failed: number;
  wallMs: number;
  /** For sustained: the run's connections on the server after this round. */
  connectionsAfter?: number;
  /** This line's own verdict (the worst over the pools it used). */
  verdict?: Verdict;
  /** Epoch ms when the phase's agents started (for the connections-over-time chart). */
  startedAtMs?: number;
  /** This phase's cold connects and warm checkouts, and its failures by class (for the charts). */
  connectMs?: LatencySummary;
  acquireMs?: LatencySummary;
  failures?: Record<string, number>;
  /** A cluster's run: this phase's failures inside the failover window (judged by the window). */
  inFailoverWindow?: number;
}

/** One count of the run's connections on a server by its observer (epoch ms). */
export interface ConnectionSample {
  server: string;
  at: number;
  connections: number;
}

/** CANCELLED: stopped before it finished (Ctrl-C, Cancel) with nothing found wrong in what did run. */
export type Verdict = 'PASS' | 'WARN' | 'FAIL' | 'CANCELLED';

export interface LoadTestReport {
  runId: string;
  shape: LoadTestShape;
  options: LoadTestOptions;
  /** Pools tested, with the size used and the server (host:port/db, never a password). */
  pools: {
    name: string;
    poolSize: number;
    minSize?: number;
    server: string;
    /** Agents per round sent to this pool. */
    agents?: number;
  }[];
  agents: number;
  succeeded: number;
  failed: number;
  /** 0..1 */
  successRate: number;
  wallMs: number;
  /** Per agent: acquiring a connection plus its SELECT 1 (the hold excluded), ms. */
  latencyMs: LatencySummary;
  /** Opening a new server connection (cold). */
  connectMs: LatencySummary;
  /** Checking out an already-open pooled connection (warm). */
  acquireMs: LatencySummary;
  /** Failure class (see FailureClass) -> count. */
  failures: Record<string, number>;
  /** One example message per failure class (password-free). */
  failureExamples: Record<string, string>;
  phases: LoadTestPhase[];
  /** Highest count of this run's connections seen on the server. */
  peakServerConnections: number;
  /** Every count the observers read during the run, in order (absent from reports made before they were kept). */
  samples?: ConnectionSample[];
  /** This run's connections still on the server after it ended (must be 0). */
  leftover: number;
  /** sustained: connections grew across rounds. */
  leakDetected: boolean;
  cancelled: boolean;
  verdict: Verdict;
  /** Why the verdict is what it is, one line each. */
  verdictReasons: string[];
  startedAt: string;
  /** `--pool patroni`: the leaders the run used and, when the leader changed or agents lost it, the window. */
  failover?: FailoverReport;
}

/** One agent's outcome at a moment, on a member (by name, or host:port when the REST API did not list it). */
export interface FailoverEvent {
  /** Epoch ms. */
  at: number;
  member?: string;
  /** For a failure: its class (admin-shutdown, read-only, connection-refused, connect-timeout, ...). */
  class?: string;
}

/**
 * What agents saw while the leader changed: the last success before the first failure, the first
 * failure, and the first success after the last failure; `gapMs` is the time without a success
 * (last success before → first success after), the figure judged against failoverTimeout.
 */
export interface FailoverWindow {
  lastSuccessBefore?: FailoverEvent;
  firstFailure: FailoverEvent;
  lastFailure: FailoverEvent;
  firstSuccessAfter?: FailoverEvent;
  /** First failure → first success after, ms (absent when no agent succeeded after). */
  outageMs?: number;
  /** Last success before → first success after, ms. */
  gapMs?: number;
  /** The failures inside the window by class. */
  failures: Record<string, number>;
}

/**
 * The reconnect burst: once the new leader was found, every pool reopened its connections at once
 * (as all pools do after a failover); how many the new leader admitted together, and its refusals.
 */
export interface ReconnectBurst {
  member: string;
  /** Connections asked for, all pools together. */
  wanted: number;
  admitted: number;
  /** Refusals and other failures by class. */
  refusals: Record<string, number>;
  /** The new leader's other client connections when the burst began (Patroni's own included). */
  otherClients?: number;
  wallMs: number;
}

export interface FailoverReport {
  /** failoverTimeout from the config, seconds. */
  timeoutS: number;
  /** Leaders in the order the run used them (the first is where it started). */
  leaders: { member: string; server: string; since: number }[];
  window?: FailoverWindow;
  reconnectBurst?: ReconnectBurst;
  /** PASS: back within failoverTimeout (or no failover); FAIL: later or never; WARN: the run ended inside the window. */
  verdict: Verdict;
  /** One line: the window and its judgement. */
  summary: string;
}
