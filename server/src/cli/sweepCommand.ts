/**
 * `pool-capacity test --sweep 10..80 --step 10`: the capacity test at each agent count, charted as
 * one picture in the HTML report (`--html`) and printed as one table.
 */
import type { LoadTestOptions } from '../../../shared/loadTest';
import type { PoolCapacitySettings } from '../../../shared/settings';
import type { LoadedConfig } from '../core/config/loadedConfig';
import { scrubbedOutput } from '../core/config/secretScrubber';
import { formatSweepTable } from '../core/dashboard/loadTestCharts';
import { parseSweepRange } from '../core/loadtest/sweep';
import { LoadTestRefused, LoadTestSetupError } from '../io/loadtest/engine';
import { runSweep } from '../io/loadtest/runSweep';
import { failSetup } from './cliOptions';
import { listenForInterrupt } from './interrupt';
import { type ArtifactFlags, writeRunArtifacts } from './runArtifacts';

export async function runSweepCommand(
  config: LoadedConfig,
  settings: PoolCapacitySettings,
  options: Omit<LoadTestOptions, 'shape' | 'agents'>,
  sweep: { text: string; step: number },
  flags: ArtifactFlags & { json?: boolean },
): Promise<number> {
  const scrub = config.scrub;
  let range: ReturnType<typeof parseSweepRange>;
  try {
    range = parseSweepRange(sweep.text, sweep.step);
  } catch (error) {
    return failSetup(error instanceof Error ? error.message : String(error));
  }
  const interrupt = listenForInterrupt();
  let result: Awaited<ReturnType<typeof runSweep>>;
  try {
    result = await runSweep(config, options, range, {
      settings,
      signal: interrupt.signal,
      onProgress: (p) => {
        if (!flags.json && process.stderr.isTTY) process.stderr.write(`\r\x1b[K${p.message}`);
      },
    });
  } catch (error) {
    if (interrupt.signal.aborted) {
      console.error('pool-capacity: cancelled before the sweep started');
      return 130;
    }
    if (error instanceof LoadTestRefused)
      return failSetup(
        scrub(`Sweep refused at its first step: ${error.reasons.join('; ')}. To run it anyway, add --force.`),
      );
    if (error instanceof LoadTestSetupError) return failSetup(scrub(error.message));
    return failSetup(scrub(error instanceof Error ? error.message : String(error)));
  } finally {
    interrupt.dispose();
    if (!flags.json && process.stderr.isTTY) process.stderr.write('\r\x1b[K');
  }
  console.log(scrubbedOutput(scrub, flags.json ? result.sweep : formatSweepTable(result.sweep)));
  await writeRunArtifacts(config, settings, flags, { reports: result.reports, sweep: result.sweep });
  if (result.sweep.verdict === 'CANCELLED' || interrupt.interrupted()) return 130;
  return result.sweep.verdict === 'FAIL' ? 1 : 0;
}
