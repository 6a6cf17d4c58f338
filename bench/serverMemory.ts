/**
 * 7. Language server memory: the real server's resident set after 1,000 edits of a 300-line and an
 * 8,000-line config, each edit inside the long `hooks` entry (the case that kept a new parse tree
 * per edit when parsed entries were cached by their text). Each edit waits for its own
 * validation, so every one is validated.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { LspSession } from '../harness/lspSession';
import type { ConnectionTarget } from '../server/src/core/connection/connectionTarget';
import { ListConfigsRequest } from '../shared/protocol';
import { configText, PASSWORD_VARIABLE } from './configText';
import type { BenchRow } from './measure';

const EDITS = 1000;
/** RSS is sampled this often: V8 grows its heap lazily, so the second half shows the steady state. */
const SAMPLE_EVERY = 100;

/** Resident set of a process in bytes (Linux /proc). */
function rssOf(pid: number): number {
  const line = readFileSync(`/proc/${pid}/status`, 'utf8')
    .split('\n')
    .find((l) => l.startsWith('VmRSS:'));
  if (!line) throw new Error(`no VmRSS for process ${pid}`);
  return Number(line.replace(/\D+/g, '')) * 1024;
}

async function measureOne(
  target: ConnectionTarget,
  lines: number,
  log: (line: string) => void,
): Promise<{ start: number; end: number; perEdit: number; secondHalfPerEdit: number; samples: number[] }> {
  const root = mkdtempSync(path.join(os.tmpdir(), 'pool-capacity-bench-mem-'));
  mkdirSync(path.join(root, '.claude-flow'));
  const uri = pathToFileURL(path.join(root, '.claude-flow', 'config.yaml')).toString();
  const session = new LspSession({ workspace: root, env: { [PASSWORD_VARIABLE]: target.password ?? '' } });
  const base = configText(target, lines, { poolSize: 30, revision: 0 });
  // The last hook's command carries the edit: the long entry changes, as when typing in it.
  const lastQuiet = base.lastIndexOf('--quiet"');
  const text = (i: number) => `${base.slice(0, lastQuiet)}--quiet --rev ${i}"${base.slice(lastQuiet + 8)}`;
  // Each edit waits until its validation has ended: ListConfigs answers once every config's latest
  // validation has settled. (Diagnostics are published only when the findings change, so waiting for
  // a publish per version would wait for edits that change nothing.)
  const validated = () => session.connection.sendRequest(ListConfigsRequest.type, {});
  try {
    await session.initialize();
    await session.open(uri, text(0), 1);
    await validated();
    const pid = session.pid;
    if (pid === undefined) throw new Error('the server has no process id');
    const samples = [rssOf(pid)];
    for (let i = 1; i <= EDITS; i++) {
      await session.change(uri, text(i), i + 1);
      await validated();
      if (i % SAMPLE_EVERY === 0) samples.push(rssOf(pid));
    }
    const start = samples[0]!;
    const end = samples[samples.length - 1]!;
    const perEdit = (end - start) / EDITS;
    const half = samples[Math.floor(samples.length / 2)]!;
    const secondHalfPerEdit = (end - half) / (EDITS - Math.floor(samples.length / 2) * SAMPLE_EVERY);
    log(
      `  ${lines} lines: RSS ${(start / 1e6).toFixed(1)} MB after the first validation, ${(end / 1e6).toFixed(1)} MB after ${EDITS} edits (${(perEdit / 1e3).toFixed(1)} KB per edit; ${(secondHalfPerEdit / 1e3).toFixed(1)} KB per edit over the second half); every ${SAMPLE_EVERY}: ${samples.map((b) => (b / 1e6).toFixed(0)).join(' ')} MB`,
    );
    return { start, end, perEdit, secondHalfPerEdit, samples };
  } finally {
    await session.close();
    rmSync(root, { recursive: true, force: true });
  }
}

export async function measureServerMemory(
  target: ConnectionTarget,
  log: (line: string) => void,
): Promise<{ rows: BenchRow[]; raw: Record<string, number[]> }> {
  const rows: BenchRow[] = [];
  const raw: Record<string, number[]> = {};
  for (const lines of [300, 8000]) {
    const m = await measureOne(target, lines, log);
    raw[`rss-every-${SAMPLE_EVERY}-edits-${lines}`] = m.samples;
    const count = lines.toLocaleString('en-US');
    rows.push({
      section: '7. Language server memory',
      label: `${count}-line config, ${EDITS.toLocaleString('en-US')} edits in its long entry: server RSS after`,
      value: { median: m.end, min: m.end, max: m.end, n: 1, unit: 'bytes' },
      // V8 grows its heap lazily before collecting, so the first half carries that; the second half is the steady state.
      goal: { text: 'growth < 20 KB per edit over the second half', met: m.secondHalfPerEdit < 20_000 },
      note: `RSS ${(m.start / 1e6).toFixed(1)} MB after the first validation; ${(m.perEdit / 1e3).toFixed(1)} KB per edit over all ${EDITS} edits, ${(m.secondHalfPerEdit / 1e3).toFixed(1)} KB per edit over the second half (each edit waits for its validation); when parsed entries were cached by their text the growth was ~430 KB (300 lines) and ~9.6 MB (8,000 lines) per edit`,
    });
  }
  return { rows, raw };
}
