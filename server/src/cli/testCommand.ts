import { type Command, Option } from 'commander';
import { type LoadTestOptions, type LoadTestReport, loadTestDefaults } from '../../../shared/loadTest';
import { passwordScrubber } from '../db/connectFailure';
import { LoadTestRefused, LoadTestSetupError, runLoadTest } from '../loadtest/engine';
import { formatReportTable } from '../loadtest/reportTable';
import {
  addSettingsFlags,
  configPathFrom,
  failSetup,
  loadCliConfig,
  nonNegativeInteger,
  positiveInteger,
  type SettingsFlags,
  settingsFrom,
} from './cliOptions';

interface TestFlags extends SettingsFlags {
  duration: number;
  burst?: boolean;
  bursts: number;
  pause: number;
  rounds?: number;
  mode: LoadTestOptions['mode'];
  onExhausted: LoadTestOptions['onExhausted'];
  acquireTimeout: number;
  pool: LoadTestOptions['pool'];
  config?: string;
  force?: boolean;
  json?: boolean;
}

/** Exit codes: 0 PASS/WARN, 1 the success criteria failed, 2 cannot run (bad input, refused), 130 interrupted. */
export function registerTestCommand(program: Command): void {
  const command = program
    .command('test')
    .description(
      'load-test a pool: N agents start together, each takes a connection, runs SELECT 1, holds it, releases it',
    )
    .argument('[agents]', 'concurrent agents (default: the target, swarm.maxAgents or 35)', positiveInteger)
    .option(
      '--duration <ms>',
      'how long each agent holds its connection',
      nonNegativeInteger,
      loadTestDefaults.durationMs,
    )
    .option('--burst', 'burst test: several bursts of N agents with a pause between')
    .option('--bursts <n>', 'burst: how many bursts', positiveInteger, loadTestDefaults.bursts)
    .option('--pause <ms>', 'burst: pause between bursts', nonNegativeInteger, loadTestDefaults.pauseMs)
    .option(
      '--rounds <n>',
      `sustained test: rounds of N agents, counting the run's connections after each (default ${loadTestDefaults.rounds})`,
      positiveInteger,
    )
    .addOption(
      new Option(
        '--mode <mode>',
        'pool: through a pool sized like the config; direct: one connection per agent',
      )
        .choices(['pool', 'direct'])
        .default(loadTestDefaults.mode),
    )
    .addOption(
      new Option('--on-exhausted <what>', 'pool mode when all connections are out: fail at once, or wait')
        .choices(['fail', 'wait'])
        .default(loadTestDefaults.onExhausted),
    )
    .option(
      '--acquire-timeout <ms>',
      'with --on-exhausted wait: how long an agent may wait',
      positiveInteger,
      loadTestDefaults.acquireTimeoutMs,
    )
    .addOption(
      new Option('--pool <pool>', 'which pool; both splits the agents over project and shared by size')
        .choices(['project', 'shared', 'both'])
        .default(loadTestDefaults.pool),
    )
    .option('--config <path>', 'config file (default .claude-flow/config.yaml)')
    .option('--force', 'run even when the safety check refuses (free slots, host allowlist)')
    .option('--json', 'print the report as one JSON object per run');
  addSettingsFlags(command).action(async (agents: number | undefined, flags: TestFlags) => {
    process.exitCode = await runTestCommand(agents, flags);
  });
}

async function runTestCommand(agentsArgument: number | undefined, flags: TestFlags): Promise<number> {
  if (flags.burst && flags.rounds !== undefined) {
    return failSetup('choose one shape: --burst or --rounds, not both');
  }
  const settings = settingsFrom(flags);
  const path = configPathFrom(flags.config);
  const config = await loadCliConfig(path, settings);
  if (!config) return 2;
  const scrub = passwordScrubber(config.pools);
  const options: LoadTestOptions = {
    ...loadTestDefaults,
    shape: flags.burst ? 'burst' : flags.rounds !== undefined ? 'sustained' : 'capacity',
    agents: agentsArgument ?? config.targetAgents,
    durationMs: flags.duration,
    mode: flags.mode,
    onExhausted: flags.onExhausted,
    acquireTimeoutMs: flags.acquireTimeout,
    pool: flags.pool,
    bursts: flags.bursts,
    pauseMs: flags.pause,
    rounds: flags.rounds ?? loadTestDefaults.rounds,
    force: flags.force ?? false,
  };

  const controller = new AbortController();
  let interrupted = false;
  const onSigint = () => {
    // A second Ctrl-C while closing gives up at once.
    if (interrupted) process.exit(130);
    interrupted = true;
    controller.abort();
  };
  process.on('SIGINT', onSigint);
  const progress = !flags.json && process.stderr.isTTY ? progressLine() : undefined;
  let report: LoadTestReport;
  try {
    report = await runLoadTest(config.pools, options, {
      settings,
      signal: controller.signal,
      onProgress: progress?.update,
    });
  } catch (error) {
    progress?.clear();
    if (controller.signal.aborted) {
      console.error('pool-capacity: cancelled before the test started');
      return 130;
    }
    if (error instanceof LoadTestRefused || error instanceof LoadTestSetupError)
      return failSetup(scrub(error.message));
    return failSetup(scrub(error instanceof Error ? error.message : String(error)));
  } finally {
    process.off('SIGINT', onSigint);
  }
  progress?.clear();
  console.log(scrub(flags.json ? JSON.stringify(report) : formatReportTable(report)));
  if (report.cancelled || interrupted) return 130;
  return report.verdict === 'FAIL' ? 1 : 0;
}

/** One self-overwriting stderr line, redrawn at most every 100 ms; only on a terminal. */
function progressLine(): {
  update: (p: { done: number; total: number; message: string }) => void;
  clear: () => void;
} {
  let last = 0;
  let shown = false;
  return {
    update(p) {
      const now = Date.now();
      if (now - last < 100 && p.done < p.total) return;
      last = now;
      shown = true;
      process.stderr.write(`\r\x1b[K${p.message}`);
    },
    clear() {
      if (shown) process.stderr.write('\r\x1b[K');
      shown = false;
    },
  };
}
