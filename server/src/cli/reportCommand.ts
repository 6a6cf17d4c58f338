import type { Command } from 'commander';
import { FAILURE_LABELS, passwordScrubber } from '../db/connectFailure';
import { buildCapacityReport, formatCapacityReport } from '../loadtest/capacityReport';
import {
  addSettingsFlags,
  configPathFrom,
  failSetup,
  loadCliConfig,
  type SettingsFlags,
  settingsFrom,
} from './cliOptions';

interface ReportFlags extends SettingsFlags {
  config?: string;
  json?: boolean;
}

/** `pool-capacity report`: server facts and the planning numbers. Exit 2 when a server cannot be probed. */
export function registerReportCommand(program: Command): void {
  const command = program
    .command('report')
    .description('print the capacity report: server facts, guaranteed and burst capacity, headroom, reserve')
    .option('--config <path>', 'config file (default .claude-flow/config.yaml)')
    .option('--json', 'print the report as JSON');
  addSettingsFlags(command).action(async (flags: ReportFlags) => {
    process.exitCode = await runReportCommand(flags);
  });
}

async function runReportCommand(flags: ReportFlags): Promise<number> {
  const settings = settingsFrom(flags);
  const path = configPathFrom(flags.config);
  const config = await loadCliConfig(path, settings);
  if (!config) return 2;
  if (config.pools.length === 0) return failSetup(`${path} declares no PostgreSQL pools`);
  const scrub = passwordScrubber(config.pools);

  const plan = await buildCapacityReport(config, settings);
  const unreachable = plan.unreachable[0];
  if (unreachable) {
    const f = unreachable.failure;
    return failSetup(
      scrub(
        `cannot reach the ${unreachable.name} pool's server ${unreachable.server}: ${FAILURE_LABELS[f.class]}${f.code ? ` (${f.code})` : ''}: ${f.message}`,
      ),
    );
  }
  console.log(scrub(flags.json ? JSON.stringify(plan) : formatCapacityReport(plan)));
  return plan.servers.some((s) => s.status === 'FAIL') ? 1 : 0;
}
