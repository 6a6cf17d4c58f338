/**
 * The capacity dashboard's requests, called by thin handlers: the capacity bars of a config, and
 * the capacity sweep (each step a capacity test through the engine, its safety check included).
 */
import type { CancellationToken, Connection } from 'vscode-languageserver';
import { type LoadTestOptions, loadTestOptionsFor } from '../../../shared/loadTest';
import {
  type CapacityViewResult,
  LoadTestProgressNotification,
  type RunLoadTestOptions,
  type RunSweepParams,
  type RunSweepResult,
} from '../../../shared/protocol';
import type { PoolCapacitySettings } from '../../../shared/settings';
import { clusterMode } from '../core/cluster/patroniSettings';
import { brokenConfigMessage, type LoadedConfig } from '../core/config/loadedConfig';
import { scrubbedOutput } from '../core/config/secretScrubber';
import { capacityView } from '../core/dashboard/capacityBars';
import { formatSweepTable } from '../core/dashboard/loadTestCharts';
import { type LoadTestProgress, LoadTestRefused, LoadTestSetupError } from '../io/loadtest/engine';
import { runSweep } from '../io/loadtest/runSweep';
import { buildCapacityReport } from '../io/probe/capacityCheck';
import { describeError } from './handlerSafety';

export type ConfigLookup = (
  uri: string,
) => Promise<{ loaded: LoadedConfig; settings: PoolCapacitySettings } | undefined>;

/**
 * The config's path relative to its workspace is the client's business: without the client's label
 * it is the file's tail ("demo/.claude-flow/config.yaml").
 */
export function configLabel(uri: string): string {
  return decodeURIComponent(uri).split('/').slice(-3).join('/');
}

/**
 * The editor's test options, for the load test and the sweep alike: under mode patroni-ha the
 * singleNode pools are inactive, so a test that names no pool goes to the cluster's.
 */
export function editorTestOptions(loaded: LoadedConfig, chosen: RunLoadTestOptions): LoadTestOptions {
  return loadTestOptionsFor(loaded.targetAgents, {
    ...(clusterMode(loaded.document) === 'patroni-ha' ? { pool: 'patroni' as const } : {}),
    ...chosen,
  });
}

export async function capacityViewOf(lookup: ConfigLookup, uri: string): Promise<CapacityViewResult> {
  const found = await lookup(uri);
  if (!found) return { message: `Cannot read the config ${uri}.` };
  const broken = brokenConfigMessage(found.loaded);
  if (broken) return { message: found.loaded.scrub(broken) };
  const plan = await buildCapacityReport(found.loaded, found.settings);
  const view = capacityView(plan, configLabel(uri));
  return { view: JSON.parse(scrubbedOutput(found.loaded.scrub, view)) };
}

export async function runSweepRequest(
  connection: Connection,
  lookup: ConfigLookup,
  running: Set<AbortController>,
  params: RunSweepParams,
  token: CancellationToken,
  /** Where progress goes instead of LoadTestProgressNotification (ServerCommands' `$/progress`). */
  onProgress?: (progress: LoadTestProgress) => void,
): Promise<RunSweepResult> {
  const found = await lookup(params.configUri);
  if (token.isCancellationRequested) return { outcome: 'error', message: 'Cancelled.' };
  if (!found) return { outcome: 'error', message: `Cannot read the config ${params.configUri}.` };
  const { loaded, settings } = found;
  const broken = brokenConfigMessage(loaded);
  if (broken) return { outcome: 'error', message: loaded.scrub(broken) };
  const {
    shape: _shape,
    agents: _agents,
    ...options
  } = editorTestOptions(loaded, { ...params.options, shape: 'capacity' });
  const controller = new AbortController();
  running.add(controller);
  const cancel = token.onCancellationRequested(() => controller.abort());
  try {
    const { sweep, reports } = await runSweep(loaded, options, params.range, {
      settings,
      signal: controller.signal,
      onProgress:
        onProgress ??
        ((progress) =>
          void connection.sendNotification(LoadTestProgressNotification.type, {
            progressId: params.progressId,
            ...progress,
          })),
    });
    // Every string the client sees has passed the config's scrubber.
    const scrub = <T extends object>(value: T): T => JSON.parse(scrubbedOutput(loaded.scrub, value));
    return {
      outcome: 'done',
      sweep: scrub(sweep),
      reports: scrub(reports),
      table: loaded.scrub(formatSweepTable(sweep)),
    };
  } catch (error) {
    const message = loaded.scrub(error instanceof Error ? error.message : String(error));
    if (error instanceof LoadTestRefused) return { outcome: 'refused', message };
    if (error instanceof LoadTestSetupError) return { outcome: 'error', message };
    if (controller.signal.aborted) return { outcome: 'error', message: 'Cancelled.' };
    connection.console.error(`sweep of ${params.configUri} failed: ${loaded.scrub(describeError(error))}`);
    return { outcome: 'error', message };
  } finally {
    cancel.dispose();
    running.delete(controller);
  }
}
