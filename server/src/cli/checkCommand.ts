import type { Command } from 'commander';
import { poolVerifications } from '../core/capacity/unverifiedPools';
import { clusterJson, judgeCluster } from '../core/cluster/patroniRules';
import { checkConfig } from '../io/probe/configCheck';
import { FactsCache } from '../io/probe/factsCache';
import { formatFinding, locateFindings } from './cliFindings';
import {
  addConfigOption,
  addSettingsFlags,
  configPathFrom,
  loadCliConfig,
  type SettingsFlags,
  settingsFrom,
} from './cliOptions';

interface CheckFlags extends SettingsFlags {
  config?: string;
  json?: boolean;
  allowUnverified?: boolean;
}

/** `check`'s exit codes, for CI. Errors win over "could not verify": both are a failed gate. */
export const CHECK_EXIT = { ok: 0, errors: 1, cannotRun: 2, unverified: 3 } as const;

/** `pool-capacity check`: the editor's diagnostics, for CI. */
export function registerCheckCommand(program: Command): void {
  addSettingsFlags(
    addConfigOption(
      program
        .command('check')
        .description('check the pool sizes in a config against the live servers')
        .argument('[config]', 'config file (default .claude-flow/config.yaml)')
        .option('--json', 'print the findings, and per pool whether its server was read, as JSON')
        .option(
          '--allow-unverified',
          'a pool whose server could not be read (unreachable, auth-failed, database-missing, server-full, tls-failed; for a Patroni cluster also patroni-api-unreachable, no-leader) is a warning only: exit by errors alone',
        )
        .addHelpText(
          'after',
          '\nExit codes: 0 every pool judged, no errors; 1 errors found; 2 cannot run (no config, bad option);\n' +
            '3 no errors, but a pool could not be judged against its server (see --allow-unverified).',
        )
        .addHelpText('after', '\nExample:\n  pool-capacity check .claude-flow/config.yaml'),
    ),
  ).action(async (configArgument: string | undefined, flags: CheckFlags) => {
    const path = configPathFrom(configArgument, flags.config);
    const settings = settingsFrom(flags);
    const config = await loadCliConfig(path, settings);
    if (!config) {
      process.exitCode = CHECK_EXIT.cannotRun;
      return;
    }
    const scrub = config.scrub;
    const { diagnostics, outcomes } = await checkConfig(config, new FactsCache(), settings, {
      allowConnect: true,
    });
    const located = locateFindings(config, diagnostics);
    const pools = poolVerifications(config, outcomes);
    const errors = located.filter((d) => d.severity === 'error').length;
    const unverified = pools.filter((p) => !p.verified).length;
    if (flags.json) {
      // Scrub each string, not the document: the scrubber shortens long text, which would cut the JSON.
      const cluster = clusterJson(judgeCluster(config, outcomes, settings), outcomes);
      const output = {
        config: path,
        targetAgents: config.targetAgents,
        pools,
        ...(cluster ? { cluster } : {}),
        diagnostics: located,
      };
      console.log(
        JSON.stringify(output, (_key, value) => (typeof value === 'string' ? scrub(value) : value), 2),
      );
    } else {
      for (const d of located) console.log(scrub(formatFinding(path, d)));
      const warnings = located.filter((d) => d.severity === 'warning').length;
      const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`;
      const notVerified =
        unverified > 0
          ? `, ${unverified} of ${pools.length} pool${pools.length === 1 ? '' : 's'} not verified against ${pools.length === 1 ? 'its server' : 'their servers'}`
          : '';
      console.log(`${plural(errors, 'error')}, ${plural(warnings, 'warning')}${notVerified}`);
    }
    process.exitCode =
      errors > 0
        ? CHECK_EXIT.errors
        : unverified > 0 && !flags.allowUnverified
          ? CHECK_EXIT.unverified
          : CHECK_EXIT.ok;
  });
}
