/**
 * What `pool-capacity test` and `report` leave behind besides their text: the run's report saved for
 * the history (`--save DIR`) and the self-contained HTML report (`--html FILE`). Everything written
 * passes the config's password scrubber first.
 */
import { writeFile } from 'node:fs/promises';
import { relative } from 'node:path';
import type { SweepReport } from '../../../shared/dashboard';
import type { LoadTestReport } from '../../../shared/loadTest';
import type { PoolCapacitySettings } from '../../../shared/settings';
import type { LoadedConfig } from '../config/loadConfig';
import { capacityView } from '../dashboard/capacityBars';
import { dashboardModel } from '../dashboard/dashboardModel';
import { dashboardAssets, renderHtmlReport } from '../dashboard/htmlReport';
import { buildCapacityReport, type CapacityPlan } from '../loadtest/capacityReport';
import { loadHistory, saveRun } from '../loadtest/runHistory';
import { scrubbedOutput } from './cliFindings';

export interface ArtifactFlags {
  /** Write the HTML report here. */
  html?: string;
  /** Keep every run's report in this directory (the history the HTML report's trend reads). */
  save?: string;
}

function scrubbed<T extends object>(scrub: (text: string) => string, value: T): T {
  return JSON.parse(scrubbedOutput(scrub, value)) as T;
}

/** Saves the runs and writes the HTML report as asked; each file written is named on stderr. */
export async function writeRunArtifacts(
  config: LoadedConfig,
  settings: PoolCapacitySettings,
  flags: ArtifactFlags,
  runs: { reports: readonly LoadTestReport[]; sweep?: SweepReport; plan?: CapacityPlan },
): Promise<void> {
  if (flags.save) {
    for (const report of runs.reports) await saveRun(flags.save, scrubbed(config.scrub, report));
    console.error(`pool-capacity: saved ${runs.reports.length} run(s) in ${flags.save}`);
  }
  if (!flags.html) return;
  let plan = runs.plan;
  let planMessage: string | undefined;
  if (!plan) {
    try {
      plan = await buildCapacityReport(config, settings);
    } catch (error) {
      planMessage = `the servers could not be read: ${error instanceof Error ? error.message : String(error)}`;
    }
  }
  const configLabel = relative(process.cwd(), config.path) || config.path;
  const model = dashboardModel({
    configLabel,
    ...(plan ? { capacity: capacityView(plan, configLabel) } : {}),
    planMessage,
    runs: runs.sweep ? [runs.sweep] : [...runs.reports].reverse(),
    history: flags.save ? await loadHistory(flags.save) : [],
  });
  await writeFile(flags.html, renderHtmlReport(scrubbed(config.scrub, model), dashboardAssets()), 'utf8');
  console.error(`pool-capacity: wrote ${flags.html}`);
}
