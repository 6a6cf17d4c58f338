import type { Command } from 'commander';
import { formatCapacityReport } from '../core/capacity/capacityReport';
import { scrubbedOutput } from '../core/config/secretScrubber';
import { describeConnectFailure, unverifiedCode } from '../core/connection/connectFailure';
import { buildCapacityReport } from '../io/probe/capacityCheck';
import { stopOnBrokenConfig } from './cliFindings';
import {
  addConfigOption,
  addSettingsFlags,
  configPathFrom,
  failSetup,
  loadCliConfig,
  type SettingsFlags,
  settingsFrom,
} from './cliOptions';
import { writeRunArtifacts } from './runArtifacts';

interface ReportFlags extends SettingsFlags {
  config?: string;
  json?: boolean;
  html?: string;
}

/** `pool-capacity report`: server facts and the planning numbers. Exit 2 when a server cannot be probed. */
export function registerReportCommand(program: Command): void {
  const command = program
    .command('report')
    .description('print the capacity report: server facts, guaranteed and burst capacity, headroom, reserve')
    .argument('[config]', 'config file (default .claude-flow/config.yaml)')
    .option('--json', 'print the report as JSON')
    .option(
      '--html <file>',
      'also write a self-contained HTML report with the capacity bars (for CI artifacts)',
    )
    .addHelpText('after', '\nExample:\n  pool-capacity report .claude-flow/config.yaml --json');
  addSettingsFlags(addConfigOption(command)).action(
    async (configArgument: string | undefined, flags: ReportFlags) => {
      process.exitCode = await runReportCommand(configArgument, flags);
    },
  );
}

async function runReportCommand(configArgument: string | undefined, flags: ReportFlags): Promise<number> {
  const settings = settingsFrom(flags);
  const path = configPathFrom(configArgument, flags.config);
  const config = await loadCliConfig(path, settings);
  if (!config) return 2;
  const scrub = config.scrub;
  // A syntax error first: it may be why no pool is found.
  if (stopOnBrokenConfig(config, scrub)) return 2;
  if (config.pools.length === 0) return failSetup(`${path} declares no PostgreSQL pools`);

  const plan = await buildCapacityReport(config, settings);
  const unreachable = plan.unreachable[0];
  if (unreachable) {
    const f = unreachable.failure;
    return failSetup(
      scrub(
        `${unreachable.name} pool: ${unverifiedCode(f.class)}: ${describeConnectFailure(unreachable.server, f)}`,
      ),
    );
  }
  if (plan.cluster?.unverified) return failSetup(scrub(plan.cluster.unverified));
  console.log(scrubbedOutput(scrub, flags.json ? plan : formatCapacityReport(plan)));
  await writeRunArtifacts(config, settings, { html: flags.html }, { reports: [], plan });
  return [...plan.servers, ...plan.poolers, ...(plan.cluster ? [plan.cluster] : [])].some(
    (s) => s.status === 'FAIL',
  )
    ? 1
    : 0;
}
