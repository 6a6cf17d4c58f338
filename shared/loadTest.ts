/**
 * What a load test is asked to do and what it reports. Shared by the engine (server), the CLI,
 * the client (which renders it) and the protocol.
 */

export type LoadTestShape = 'capacity' | 'burst' | 'sustained';
/** pool: through a pool sized like the config's; direct: one raw connection per agent. */
export type LoadTestMode = 'pool' | 'direct';
/** fail: fail at once when all pooled connections are out (the predecessor's psycopg2 semantics); wait: queue. */
export type OnExhausted = 'fail' | 'wait';
export type PoolSelection = 'project' | 'shared' | 'both';

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
}

export type Verdict = 'PASS' | 'WARN' | 'FAIL';

export interface LoadTestReport {
  runId: string;
  shape: LoadTestShape;
  options: LoadTestOptions;
  /** Pools tested, with the size used and the server (host:port/db, never a password). */
  pools: {
    name: string;
    poolSize: number;
    minSize?: number;
    server: string /** Agents per round sent to this pool. */;
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
  /** This run's connections still on the server after it ended (must be 0). */
  leftover: number;
  /** sustained: connections grew across rounds. */
  leakDetected: boolean;
  cancelled: boolean;
  verdict: Verdict;
  /** Why the verdict is what it is, one line each. */
  verdictReasons: string[];
  startedAt: string;
}
