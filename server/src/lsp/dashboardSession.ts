/**
 * The capacity dashboard's state in the language server: the runs of this session per config, the
 * run history on disk (the folder the client named in `initializationOptions.historyDir`), and the
 * bars last read per config. It answers DashboardRequest with the whole model, so the client only
 * posts it to its webview.
 */
import * as fs from 'node:fs/promises';
import type { CapacityView, DashboardModel, SweepReport } from '../../../shared/dashboard';
import type { LoadTestReport } from '../../../shared/loadTest';
import type { CapacityViewResult, DashboardParams } from '../../../shared/protocol';
import { dashboardModel } from '../core/dashboard/dashboardModel';
import { HISTORY_CAP, loadHistory, saveRun } from '../core/loadtest/runHistory';
import { configLabel } from './dashboardRequests';

/** Runs the dashboard shows below the bars, newest first; older ones live on in the history's trend. */
const RUNS_SHOWN = 5;

export class DashboardSession {
  /** Set from `initializationOptions.historyDir`; without it runs are charted but not kept. */
  historyDir?: string;
  private readonly runs = new Map<string, (LoadTestReport | SweepReport)[]>();
  private readonly views = new Map<string, CapacityViewResult>();

  constructor(
    /** Reads the config's servers afresh (the CapacityView request's answer). */
    private readonly readCapacity: (uri: string) => Promise<CapacityViewResult>,
    private readonly log: (message: string) => void,
  ) {}

  /** A finished run (a sweep with its steps' reports): charted for its config and saved to the history. */
  async recordRun(
    configUri: string,
    run: LoadTestReport | SweepReport,
    reports: readonly LoadTestReport[],
  ): Promise<void> {
    const runs = this.runs.get(configUri) ?? [];
    runs.unshift(run);
    runs.length = Math.min(runs.length, RUNS_SHOWN);
    this.runs.set(configUri, runs);
    if (!this.historyDir) return;
    try {
      for (const report of reports) await saveRun(fs, this.historyDir, report, HISTORY_CAP);
    } catch (error) {
      // The run itself succeeded: a full or read-only storage folder costs the trend, not the result.
      this.log(
        `run history: cannot save to ${this.historyDir}: ${error instanceof Error ? error.message : String(error)}`,
      );
    }
  }

  /** `instead`: why the servers are not read (an untrusted workspace): the runs and trend still show. */
  async model(params: DashboardParams, instead?: CapacityViewResult): Promise<DashboardModel> {
    const label = params.configLabel ?? configLabel(params.configUri);
    let view = instead ?? (params.readServers === false ? this.views.get(params.configUri) : undefined);
    if (!view) {
      view = await this.readCapacity(params.configUri);
      this.views.set(params.configUri, view);
    }
    const history = this.historyDir ? await loadHistory(fs, this.historyDir) : [];
    const capacity: CapacityView | undefined = view.view ? { ...view.view, configLabel: label } : undefined;
    return dashboardModel({
      configLabel: label,
      ...(capacity ? { capacity } : {}),
      ...(capacity ? {} : { planMessage: view.message ?? 'The servers could not be read.' }),
      runs: this.runs.get(params.configUri) ?? [],
      history,
    });
  }
}
