import type { Command } from 'commander';
import { loadConfigFile } from '../config/loadConfig';
import type { ResolvedPool } from '../config/poolConfig';
import { FAILURE_LABELS, redact } from '../db/connectFailure';
import { buildCapacityReport, formatCapacityReport } from '../loadtest/capacityReport';
import { addSettingsFlags, configPathFrom, type SettingsFlags, settingsFrom } from './cliOptions';

interface ReportFlags extends SettingsFlags {
  config?: string;
  json?: boolean;
}

/** Prints a one-line "cannot run" message (no stack trace) and gives exit code 2. */
export function failSetup(message: string): number {
  console.error(`pool-capacity: ${message}`);
  return 2;
}

/** Removes every password of the config from text before it is printed (defence in depth). */
export function passwordScrubber(pools: readonly Pick<ResolvedPool, 'target'>[]): (text: string) => string {
  const passwords = [...new Set(pools.map((p) => p.target.password).filter((p): p is string => !!p))];
  // Longest first, so a password that contains another is removed whole.
  passwords.sort((a, b) => b.length - a.length);
  return (text) => passwords.reduce((out, password) => redact(out, password), redact(text));
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
  let config: Awaited<ReturnType<typeof loadConfigFile>>;
  try {
    config = await loadConfigFile(path, process.env, settings);
  } catch (error) {
    const reason = (error as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : String(error);
    return failSetup(`cannot read ${path}: ${reason}`);
  }
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
