/**
 * One dashboard model from what is at hand (a capacity plan, runs, a sweep, the saved history), for
 * the webview (built by the language server: DashboardRequest) and the CLI's HTML report alike. Pure.
 */
import type {
  CapacityView,
  DashboardModel,
  HistoryEntry,
  RunView,
  SweepReport,
} from '../../../../shared/dashboard';
import type { LoadTestReport } from '../../../../shared/loadTest';
import { runView, sweepView, trendCharts } from './loadTestCharts';

export interface DashboardInputs {
  configLabel: string;
  /** The capacity bars (capacityView of the plan). */
  capacity?: CapacityView;
  /** Why there is no plan (untrusted, unreadable config, a server that did not answer). */
  planMessage?: string;
  /** Newest first. */
  runs?: readonly (LoadTestReport | SweepReport)[];
  history?: readonly HistoryEntry[];
  now?: Date;
}

const isSweep = (run: LoadTestReport | SweepReport): run is SweepReport => 'range' in run;

export function dashboardModel(inputs: DashboardInputs): DashboardModel {
  const now = inputs.now ?? new Date();
  const runs: RunView[] = (inputs.runs ?? []).map((r) => (isSweep(r) ? sweepView(r) : runView(r)));
  return {
    title: `Pool Capacity — ${inputs.configLabel}`,
    generatedAt: now.toISOString(),
    ...(inputs.capacity ? { capacity: inputs.capacity } : {}),
    ...(inputs.planMessage ? { capacityMessage: inputs.planMessage } : {}),
    runs,
    trends: trendCharts(inputs.history ?? []),
  };
}
