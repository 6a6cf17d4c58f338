import type { CancellationToken, Connection } from 'vscode-languageserver';
import { type LoadTestOptions, loadTestDefaults } from '../../../shared/loadTest';
import {
  LoadTestProgressNotification,
  type RunLoadTestParams,
  type RunLoadTestResult,
} from '../../../shared/protocol';
import type { PoolCapacitySettings } from '../../../shared/settings';
import type { LoadedConfig } from '../config/loadConfig';
import { passwordScrubber } from '../db/connectFailure';
import { buildCapacityReport, formatCapacityReport } from '../loadtest/capacityReport';
import { LoadTestRefused, LoadTestSetupError, runLoadTest } from '../loadtest/engine';
import { formatReportTable } from '../loadtest/reportTable';

type ConfigLookup = (
  uri: string,
) => Promise<{ loaded: LoadedConfig; settings: PoolCapacitySettings } | undefined>;

/**
 * Runs load tests for the client in the server process, so the extension host stays responsive
 * however many agents run; cancelling the request aborts the test, which closes what it opened.
 */
export class LoadTestSession {
  private readonly running = new Set<AbortController>();

  constructor(
    private readonly connection: Connection,
    private readonly lookup: ConfigLookup,
    private readonly onFinished: (summary: string) => void,
  ) {}

  async run(params: RunLoadTestParams, token: CancellationToken): Promise<RunLoadTestResult> {
    const found = await this.lookup(params.configUri);
    if (!found) return { outcome: 'error', message: `Cannot read the config ${params.configUri}.` };
    const { loaded, settings } = found;
    const options: LoadTestOptions = {
      ...loadTestDefaults,
      agents: loaded.targetAgents,
      ...params.options,
    };
    const controller = new AbortController();
    this.running.add(controller);
    const cancel = token.onCancellationRequested(() => controller.abort());
    try {
      const report = await runLoadTest(loaded.pools, options, {
        settings,
        signal: controller.signal,
        onProgress: (progress) =>
          void this.connection.sendNotification(LoadTestProgressNotification.type, {
            progressId: params.progressId,
            ...progress,
          }),
      });
      this.onFinished(
        `${report.verdict} ${report.shape} ${report.succeeded}/${report.agents} agents (${Math.round(report.successRate * 100)}%) at ${new Date().toLocaleTimeString()}`,
      );
      return { outcome: 'done', report, table: formatReportTable(report) };
    } catch (error) {
      const message = passwordScrubber(loaded.pools)(error instanceof Error ? error.message : String(error));
      if (error instanceof LoadTestRefused) return { outcome: 'refused', message };
      if (error instanceof LoadTestSetupError) return { outcome: 'error', message };
      return { outcome: 'error', message: controller.signal.aborted ? 'Cancelled.' : message };
    } finally {
      cancel.dispose();
      this.running.delete(controller);
    }
  }

  async capacityReport(uri: string): Promise<{ text: string }> {
    const found = await this.lookup(uri);
    if (!found) return { text: `Cannot read the config ${uri}.` };
    const report = await buildCapacityReport(found.loaded, found.settings);
    return { text: formatCapacityReport(report) };
  }

  cancelAll(): void {
    for (const controller of this.running) controller.abort();
  }
}
