import type { CancellationToken, Connection } from 'vscode-languageserver';
import {
  type CapacityReportResult,
  type CapacityViewResult,
  LoadTestProgressNotification,
  type RunLoadTestParams,
  type RunLoadTestResult,
  type RunSweepParams,
  type RunSweepResult,
} from '../../../shared/protocol';
import { formatCapacityReport } from '../core/capacity/capacityReport';
import { brokenConfigMessage } from '../core/config/loadedConfig';
import { formatReportTable } from '../core/loadtest/reportTable';
import { loadTestPools } from '../io/loadtest/clusterFollower';
import {
  type LoadTestProgress,
  LoadTestRefused,
  LoadTestSetupError,
  runLoadTest,
} from '../io/loadtest/engine';
import { buildCapacityReport } from '../io/probe/capacityCheck';
import type { ConfigRegistry } from './configRegistry';
import { capacityViewOf, editorTestOptions, runSweepRequest } from './dashboardRequests';
import { DashboardSession } from './dashboardSession';
import { describeError } from './handlerSafety';
import type { StatusLoop } from './statusLoop';

/**
 * Runs load tests for the client in the server process, so the extension host stays responsive
 * however many agents run; cancelling the request aborts the test, which closes what it opened.
 */
export class LoadTestSession {
  private readonly running = new Set<AbortController>();
  /** The dashboard's model: each finished run is charted there and saved to the run history. */
  readonly dashboard = new DashboardSession(
    (uri) => this.capacityView(uri),
    (message) => this.connection.console.warn(message),
  );

  /**
   * `registry`: the configs as last validated (the load test and report use the same model as the
   * diagnostics); `status`: where a finished test's summary goes (the status bar's tooltip).
   */
  constructor(
    private readonly connection: Connection,
    private readonly registry: Pick<ConfigRegistry, 'loadedConfig'>,
    private readonly status: Pick<StatusLoop, 'recordTest'>,
  ) {}

  /** The dashboard's requests take the lookup alone. */
  private readonly lookup = (uri: string) => this.registry.loadedConfig(uri);

  /**
   * `onProgress`: where progress goes; by default the client's LoadTestProgressNotification
   * (ServerCommands report it as standard `$/progress` instead).
   */
  async run(
    params: RunLoadTestParams,
    token: CancellationToken,
    onProgress: (progress: LoadTestProgress) => void = this.progressNotifier(params.progressId),
  ): Promise<RunLoadTestResult> {
    // The lookup waits for the config's validation, whose probe may be waiting on a silent host:
    // a cancel answers at once all the same.
    const found = await untilCancelled(this.registry.loadedConfig(params.configUri), token);
    if (found === 'cancelled') return { outcome: 'error', message: 'Cancelled.' };
    if (!found) return { outcome: 'error', message: `Cannot read the config ${params.configUri}.` };
    const { loaded, settings } = found;
    // A config that does not parse would be tested against what the parser kept: stop instead.
    const broken = brokenConfigMessage(loaded);
    if (broken) return { outcome: 'error', message: loaded.scrub(broken) };
    const options = editorTestOptions(loaded, params.options);
    const controller = new AbortController();
    this.running.add(controller);
    const cancel = token.onCancellationRequested(() => controller.abort());
    try {
      const { pools, cluster } = await loadTestPools(loaded, options.pool, controller.signal);
      const report = await runLoadTest(pools, options, {
        settings,
        signal: controller.signal,
        onProgress,
        cluster,
      });
      this.status.recordTest(
        `${report.verdict} ${report.shape} ${report.succeeded}/${report.agents} agents (${Math.round(report.successRate * 100)}%) at ${new Date().toLocaleTimeString()}`,
      );
      await this.dashboard.recordRun(params.configUri, report, [report]);
      return { outcome: 'done', report, table: formatReportTable(report) };
    } catch (error) {
      const message = loaded.scrub(error instanceof Error ? error.message : String(error));
      if (error instanceof LoadTestRefused) return { outcome: 'refused', message };
      if (error instanceof LoadTestSetupError) return { outcome: 'error', message };
      if (controller.signal.aborted) return { outcome: 'error', message: 'Cancelled.' };
      // Not a refusal nor a setup problem the user can act on: keep the cause (and where) in the log.
      this.connection.console.error(
        `load test of ${params.configUri} failed: ${loaded.scrub(describeError(error))}`,
      );
      return { outcome: 'error', message };
    } finally {
      cancel.dispose();
      this.running.delete(controller);
    }
  }

  async capacityReport(uri: string): Promise<CapacityReportResult> {
    const found = await this.registry.loadedConfig(uri);
    if (!found) return { text: `Cannot read the config ${uri}.` };
    const broken = brokenConfigMessage(found.loaded);
    if (broken) return { text: found.loaded.scrub(broken) };
    const report = await buildCapacityReport(found.loaded, found.settings);
    return { text: formatCapacityReport(report) };
  }

  /** The capacity dashboard's bars (dashboardRequests.ts). */
  capacityView(uri: string): Promise<CapacityViewResult> {
    return capacityViewOf(this.lookup, uri);
  }

  /** A capacity sweep; cancelAll stops it like any run (dashboardRequests.ts). */
  async sweep(
    params: RunSweepParams,
    token: CancellationToken,
    onProgress?: (progress: LoadTestProgress) => void,
  ): Promise<RunSweepResult> {
    const result = await runSweepRequest(
      this.connection,
      this.lookup,
      this.running,
      params,
      token,
      onProgress,
    );
    if (result.outcome === 'done')
      await this.dashboard.recordRun(params.configUri, result.sweep, result.reports);
    return result;
  }

  private progressNotifier(progressId: string) {
    return (progress: LoadTestProgress) =>
      void this.connection.sendNotification(LoadTestProgressNotification.type, { progressId, ...progress });
  }

  cancelAll(): void {
    for (const controller of this.running) controller.abort();
  }
}

/** The promise's value, or 'cancelled' as soon as the token is (the promise is left to settle). */
function untilCancelled<T>(promise: Promise<T>, token: CancellationToken): Promise<T | 'cancelled'> {
  if (token.isCancellationRequested) return Promise.resolve('cancelled');
  return new Promise((resolve, reject) => {
    const listener = token.onCancellationRequested(() => resolve('cancelled'));
    promise.then(
      (value) => {
        listener.dispose();
        resolve(value);
      },
      (error) => {
        listener.dispose();
        reject(error);
      },
    );
  });
}
