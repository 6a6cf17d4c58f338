import { type Command, Option } from 'commander';
import {
  type LoadTestOptions,
  type LoadTestReport,
  loadTestDefaults,
  loadTestOptionsFor,
} from '../../../shared/loadTest';
import { DEFAULT_TARGET_AGENTS } from '../../../shared/settings';
import { scrubbedOutput } from '../core/config/secretScrubber';
import { formatReportTable } from '../core/loadtest/reportTable';
import { loadTestPools } from '../io/loadtest/clusterFollower';
import { LoadTestRefused, LoadTestSetupError, runLoadTest } from '../io/loadtest/engine';
import { stopOnBrokenConfig } from './cliFindings';
import {
  addConfigOption,
  addSettingsFlags,
  CliUsageError,
  configPathFrom,
  failSetup,
  loadCliConfig,
  nonNegativeInteger,
  positiveInteger,
  type SettingsFlags,
  settingsFrom,
} from './cliOptions';
import { listenForInterrupt } from './interrupt';
import { writeRunArtifacts } from './runArtifacts';
import { runSweepCommand } from './sweepCommand';

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
  /** Capacity sweep: FROM..TO agents, by `step`. */
  sweep?: string;
  step: number;
  html?: string;
  save?: string;
}

/** Exit codes: 0 PASS/WARN, 1 the success criteria failed, 2 cannot run (bad input, refused), 130 interrupted. */
export function registerTestCommand(program: Command): void {
  const command = program
    .command('test')
    .description(
      'load-test a pool: N agents start together, each takes a connection, runs SELECT 1, holds it, releases it',
    )
    .argument(
      '[agents]',
      `concurrent agents (default: the target, swarm.maxAgents or ${DEFAULT_TARGET_AGENTS})`,
    )
    .argument('[config]', 'config file (default .claude-flow/config.yaml); may come alone, without agents')
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
      new Option(
        '--pool <pool>',
        "which pool; both splits the agents over project and shared by size; patroni tests the Patroni cluster's leader and follows it through a failover",
      )
        .choices(['project', 'shared', 'both', 'patroni'])
        .default(loadTestDefaults.pool),
    )
    .option('--force', 'run even when the safety check refuses (free slots, host allowlist)')
    .option('--json', 'print the report as one JSON object per run')
    .option('--sweep <from..to>', 'capacity sweep: the capacity test at each agent count from..to')
    .option('--step <n>', 'with --sweep: agents added per step', positiveInteger, 10)
    .option('--html <file>', 'also write a self-contained HTML report with charts (for CI artifacts)')
    .option('--save <dir>', "keep each run's report in this directory (the HTML report's trend)")
    .addHelpText(
      'after',
      '\nExamples:\n  pool-capacity test 35 .claude-flow/config.yaml             # capacity: 35 agents at once\n' +
        '  pool-capacity test 35 --burst --bursts 5 --pause 100        # burst\n' +
        '  pool-capacity test 35 --rounds 10 --config path/config.yaml # sustained (leak check)\n' +
        '  pool-capacity test --sweep 10..80 --step 10 --html out.html # capacity sweep, charted\n' +
        '  pool-capacity test 10 --rounds 60 --pool patroni --json     # through a failover: the window and its verdict',
    );
  addSettingsFlags(addConfigOption(command)).action(
    async (first: string | undefined, second: string | undefined, flags: TestFlags) => {
      const { agents, config } = testArguments(first, second);
      process.exitCode = await runTestCommand(agents, {
        ...flags,
        config: configPathFrom(config, flags.config),
      });
    },
  );
}

/** `test [agents] [config]`: a lone argument that is not a whole number is the config. */
export function testArguments(
  first: string | undefined,
  second: string | undefined,
): { agents?: number; config?: string } {
  if (first === undefined) return {};
  if (second === undefined && !/^\d+$/.test(first)) return { config: first };
  try {
    return { agents: positiveInteger(first), config: second };
  } catch {
    throw new CliUsageError(`agents must be a whole number of at least 1, not "${first}"`);
  }
}

async function runTestCommand(agentsArgument: number | undefined, flags: TestFlags): Promise<number> {
  if (flags.burst && flags.rounds !== undefined) {
    return failSetup('choose one shape: --burst or --rounds, not both');
  }
  const settings = settingsFrom(flags);
  const path = configPathFrom(undefined, flags.config);
  const config = await loadCliConfig(path, settings);
  if (!config) return 2;
  const scrub = config.scrub;
  if (stopOnBrokenConfig(config, scrub)) return 2;
  if (flags.sweep !== undefined) {
    if (agentsArgument !== undefined || flags.burst || flags.rounds !== undefined)
      return failSetup('--sweep sets the agent counts itself: give no agents, --burst or --rounds with it');
    const {
      shape: _shape,
      agents: _agents,
      ...rest
    } = loadTestOptionsFor(config.targetAgents, {
      shape: 'capacity',
      durationMs: flags.duration,
      mode: flags.mode,
      onExhausted: flags.onExhausted,
      acquireTimeoutMs: flags.acquireTimeout,
      pool: flags.pool,
      force: flags.force,
    });
    return runSweepCommand(config, settings, rest, { text: flags.sweep, step: flags.step }, flags);
  }
  const options: LoadTestOptions = loadTestOptionsFor(config.targetAgents, {
    shape: flags.burst ? 'burst' : flags.rounds !== undefined ? 'sustained' : 'capacity',
    agents: agentsArgument,
    durationMs: flags.duration,
    mode: flags.mode,
    onExhausted: flags.onExhausted,
    acquireTimeoutMs: flags.acquireTimeout,
    pool: flags.pool,
    bursts: flags.bursts,
    pauseMs: flags.pause,
    rounds: flags.rounds,
    force: flags.force,
  });

  const interrupt = listenForInterrupt();
  const progress = !flags.json && process.stderr.isTTY ? progressLine() : undefined;
  let report: LoadTestReport;
  try {
    const { pools, cluster } = await loadTestPools(config, options.pool, interrupt.signal);
    report = await runLoadTest(pools, options, {
      settings,
      signal: interrupt.signal,
      onProgress: progress?.update,
      cluster,
    });
  } catch (error) {
    progress?.clear();
    if (interrupt.signal.aborted) {
      console.error('pool-capacity: cancelled before the test started');
      return 130;
    }
    // Said to the person at the terminal: --force is their way past it.
    if (error instanceof LoadTestRefused)
      return failSetup(
        scrub(`Load test refused: ${error.reasons.join('; ')}. To run it anyway, add --force.`),
      );
    if (error instanceof LoadTestSetupError) return failSetup(scrub(error.message));
    return failSetup(scrub(error instanceof Error ? error.message : String(error)));
  } finally {
    interrupt.dispose();
  }
  progress?.clear();
  console.log(scrubbedOutput(scrub, flags.json ? report : formatReportTable(report)));
  await writeRunArtifacts(config, settings, flags, { reports: [report] });
  if (report.cancelled || interrupt.interrupted()) return 130;
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
