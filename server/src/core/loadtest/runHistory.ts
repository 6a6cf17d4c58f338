/**
 * The run history: every load-test report saved as one JSON file in a directory (the extension's
 * workspace storage, where the language server writes it, or the CLI's `--save DIR`), the oldest
 * removed past a cap, so the dashboard can show success rate and p95 across runs of the same config
 * and shape.
 */
import { join } from 'node:path';
import type { HistoryEntry } from '../../../../shared/dashboard';
import type { LoadTestReport } from '../../../../shared/loadTest';
import { historyEntry } from '../dashboard/loadTestCharts';

/**
 * The file functions the history uses, as node:fs/promises has them: the language server (in the
 * folder the client names) and the CLI (`--save DIR`) pass that module in, so this one reads and
 * writes nothing of its own.
 */
export interface HistoryFiles {
  mkdir(dir: string, options: { recursive: true }): Promise<unknown>;
  readdir(dir: string): Promise<string[]>;
  readFile(path: string, encoding: 'utf8'): Promise<string>;
  writeFile(path: string, text: string, encoding: 'utf8'): Promise<void>;
  rm(path: string, options: { force: true }): Promise<void>;
}

/** Enough for months of runs; each file is a few KB. */
export const HISTORY_CAP = 200;
const SUFFIX = '.run.json';

/** Sortable by time: the start time (colons made file-safe) and the run id. */
export function historyFileName(report: Pick<LoadTestReport, 'startedAt' | 'runId'>): string {
  return `${report.startedAt.replace(/[:.]/g, '-')}-${report.runId.replace(/[^\w-]/g, '')}${SUFFIX}`;
}

/** Saves the report and removes the oldest files past `cap`. Returns the file written. */
export async function saveRun(
  disk: HistoryFiles,
  dir: string,
  report: LoadTestReport,
  cap = HISTORY_CAP,
): Promise<string> {
  await disk.mkdir(dir, { recursive: true });
  const file = join(dir, historyFileName(report));
  await disk.writeFile(file, `${JSON.stringify(report)}\n`, 'utf8');
  const files = (await disk.readdir(dir)).filter((f) => f.endsWith(SUFFIX)).sort();
  await Promise.all(
    files.slice(0, Math.max(0, files.length - cap)).map((f) => disk.rm(join(dir, f), { force: true })),
  );
  return file;
}

/** The saved runs, oldest first; files that are not a report (hand-edited, cut short) are skipped. */
export async function loadHistory(disk: HistoryFiles, dir: string): Promise<HistoryEntry[]> {
  let files: string[];
  try {
    files = (await disk.readdir(dir)).filter((f) => f.endsWith(SUFFIX)).sort();
  } catch {
    return [];
  }
  const entries: HistoryEntry[] = [];
  for (const f of files) {
    try {
      const report = JSON.parse(await disk.readFile(join(dir, f), 'utf8')) as LoadTestReport;
      if (typeof report.runId === 'string' && Array.isArray(report.pools) && report.latencyMs)
        entries.push(historyEntry(report));
    } catch {
      // Not a report: left alone, not shown.
    }
  }
  return entries;
}
