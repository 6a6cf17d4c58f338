/**
 * The load-test engine: capacity, burst and sustained runs against the configured pools. Plain
 * TypeScript (no vscode); the language server and the CLI both call `runLoadTest`, which reads as
 * its three steps: plan (plan.ts) → run the phases under the run's observer (phases.ts,
 * runObserver.ts) → assemble the report (assemble.ts).
 */
import { setMaxListeners } from 'node:events';
import type { LoadTestOptions, LoadTestReport } from '../../../../shared/loadTest';
import type { PoolCapacitySettings } from '../../../../shared/settings';
import { APPLICATION_NAME_PREFIX } from '../../core/capacity/serverFacts';
import { type LoadTestPool, newRunId, plannedServers } from '../../core/loadtest/plan';
import { CANCEL_CLOSE_TIMEOUT_MS, CLOSE_TIMEOUT_MS } from '../db/openConnection';
import { assembleReport } from './assemble';
import type { ClusterFollower } from './clusterFollower';
import { type LoadTestProgress, type PhasesRun, type PoolRun, poolRuns, runPhases } from './phases';
import { planLoadTest } from './planLoadTest';
import { RunObserver } from './runObserver';

export {
  type LoadTestPool,
  LoadTestSetupError,
  MAX_POOL_SIZE,
  newRunId,
  selectPools,
  serverDemands,
  splitAgents,
  validateOptions,
  validatePoolSizes,
} from '../../core/loadtest/plan';
export { LoadTestRefused } from '../../core/loadtest/safety';
export type { LoadTestProgress } from './phases';

export interface LoadTestContext {
  settings: PoolCapacitySettings;
  /** Aborting ends the test promptly and closes every connection it opened. */
  signal?: AbortSignal;
  onProgress?: (progress: LoadTestProgress) => void;
  /** Test hook, never user input: this many agents per round keep their connection (a deliberate leak). */
  leakPerRound?: number;
  /** Test hook: the run id to use (default random), so a test knows the application_name up front. */
  runId?: string;
  /** `--pool patroni`: follows the cluster's leader through a switchover or failover. */
  cluster?: ClusterFollower;
}

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
  const { settings } = context;
  const plan = await planLoadTest(pools, options, settings, context.signal);

  const runId = context.runId ?? newRunId();
  const applicationName = `${APPLICATION_NAME_PREFIX}${runId}`;
  const startedAt = new Date().toISOString();
  const run = new AbortController();
  const onOuterAbort = () => run.abort();
  if (context.signal?.aborted) run.abort();
  context.signal?.addEventListener('abort', onOuterAbort, { once: true });
  const signal = run.signal;
  // Every agent's hold listens for the cancel: hundreds of listeners are expected.
  setMaxListeners(0, signal);

  // From here on every connection the run opens is closed in the one `finally` below, whatever
  // fails (a connect, an allocation, a frozen server) and however the run ends.
  const observer = new RunObserver(plannedServers(plan), applicationName, settings.connectTimeoutMs, signal);
  const runs: PoolRun[] = [];
  // A cancelled run closes faster: the user is waiting for the prompt.
  const closeBound = () => (signal.aborted ? CANCEL_CLOSE_TIMEOUT_MS : CLOSE_TIMEOUT_MS);
  // Idempotent, and never a snapshot: connectors created after a cancel are closed too.
  const closeAll = () => Promise.all(runs.map((r) => r.connector.close(closeBound()))).then(() => {});
  // Cancel closes everything at once, without waiting for agents to notice.
  signal.addEventListener('abort', () => void closeAll(), { once: true });

  let ran: PhasesRun = { results: [], phases: [], connectionsAfterRounds: [], wallMs: 0 };
  let leftover = 0;
  try {
    await observer.open();
    runs.push(
      ...poolRuns(plan, options, { connectTimeoutMs: settings.connectTimeoutMs, applicationName, signal }),
    );
    if (signal.aborted) void closeAll();
    const { cluster } = context;
    cluster?.attach({ runs, observer, signal, applicationName, connectTimeoutMs: settings.connectTimeoutMs });
    await observer.startSampling();
    try {
      ran = await runPhases(
        runs,
        options,
        {
          signal,
          onProgress: context.onProgress,
          leakPerRound: context.leakPerRound,
          beforePhase: cluster?.beforePhase,
          onAgentFailure: cluster?.onAgentFailure,
        },
        observer,
      );
      // A search for the new leader still going on ends (bounded) before the run closes.
      await cluster?.beforePhase();
    } finally {
      observer.stopSampling();
      context.signal?.removeEventListener('abort', onOuterAbort);
    }
    await closeAll();
    leftover = await observer.countLeftover();
  } finally {
    observer.stopSampling();
    context.signal?.removeEventListener('abort', onOuterAbort);
    // The one place the run's connections end: agents' connections, then the observers, each bounded.
    await closeAll();
    await observer.close(closeBound());
  }

  return assembleReport({
    runId,
    startedAt,
    options,
    plan,
    runs,
    ran,
    observer,
    leftover,
    cancelled: signal.aborted,
    failover: context.cluster?.report(ran.results, Date.now()),
  });
}
