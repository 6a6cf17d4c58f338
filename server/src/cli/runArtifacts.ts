/**
 * What `pool-capacity test` and `report` leave behind besides their text: the run's report saved for
 * the history (`--save DIR`) and the self-contained HTML report (`--html FILE`). Everything written
 * passes the config's password scrubber first.
 */
import * as fs from 'node:fs/promises';
import { writeFile } from 'node:fs/promises';
import { relative } from 'node:path';
import type { SweepReport } from '../../../shared/dashboard';
import type { LoadTestReport } from '../../../shared/loadTest';
import type { PoolCapacitySettings } from '../../../shared/settings';
import type { CapacityPlan } from '../core/capacity/capacityReport';
import type { LoadedConfig } from '../core/config/loadedConfig';
import { scrubbedOutput } from '../core/config/secretScrubber';
import { capacityView } from '../core/dashboard/capacityBars';
import { dashboardModel } from '../core/dashboard/dashboardModel';
import { renderHtmlReport } from '../core/dashboard/htmlReport';
import { loadHistory, saveRun } from '../core/loadtest/runHistory';
import { buildCapacityReport } from '../io/probe/capacityCheck';
import { dashboardAssets } from './dashboardAssets';

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
    for (const report of runs.reports) await saveRun(fs, flags.save, scrubbed(config.scrub, report));
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
    history: flags.save ? await loadHistory(fs, flags.save) : [],
  });
  await writeFile(flags.html, renderHtmlReport(scrubbed(config.scrub, model), dashboardAssets()), 'utf8');
  console.error(`pool-capacity: wrote ${flags.html}`);
}
