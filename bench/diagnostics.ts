/**
 * 4. Diagnostics: validating a config in-process the way the language server does on each edit
 * (resolve, check against cached server facts, convert to LSP diagnostics) against a bare `yaml`
 * parse of the same text; and the real server's didChange → publishDiagnostics round trip.
 */
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import type { PublishDiagnosticsParams } from 'vscode-languageserver-protocol';
import { TextDocument } from 'vscode-languageserver-textdocument';
import { parseDocument } from 'yaml';
import { LspSession } from '../harness/lspSession';
import type { ConnectionTarget } from '../server/src/core/connection/connectionTarget';
import { resolveConfig } from '../server/src/io/config/configFiles';
import { checkConfig } from '../server/src/io/probe/configCheck';
import { FactsCache } from '../server/src/io/probe/factsCache';
import { toLspDiagnostic } from '../server/src/lsp/lspConvert';
import { settingsDefaults } from '../shared/settings';
import { type ConfigEdit, configText, PASSWORD_VARIABLE } from './configText';
import { type BenchRow, compared, summarize } from './measure';

/** The server's didChange debounce (VALIDATION_DEBOUNCE_MS in server/src/lsp/poolCapacityServer.ts). */
const DEBOUNCE_MS = 100;
/** Needs the server's facts: its presence shows a validation used them (cached or probed). */
const FACTS_FINDING = 'pool-exceeds-server';

interface Workspace {
  root: string;
  configPath: string;
  uri: string;
  env: Record<string, string | undefined>;
}

function makeWorkspace(target: ConnectionTarget): Workspace {
  const root = mkdtempSync(path.join(os.tmpdir(), 'pool-capacity-bench-ws-'));
  mkdirSync(path.join(root, '.claude-flow'));
  const configPath = path.join(root, '.claude-flow', 'config.yaml');
  return {
    root,
    configPath,
    uri: pathToFileURL(configPath).toString(),
    env: { ...process.env, [PASSWORD_VARIABLE]: target.password ?? '' },
  };
}

/** What the server does per edit once the debounce fires, minus JSON-RPC. */
async function validate(ws: Workspace, text: string, cache: FactsCache): Promise<string[]> {
  const loaded = await resolveConfig(ws.configPath, text, ws.env, settingsDefaults);
  const { diagnostics } = await checkConfig(loaded, cache, settingsDefaults, { allowConnect: true });
  const document = TextDocument.create(ws.uri, 'yaml', 1, text);
  return diagnostics.map((d) => toLspDiagnostic(document, d).code as string);
}

/** Per-iteration timings of the product and the baseline, interleaved so drift hits both alike. */
async function timeEdits(
  ws: Workspace,
  cache: FactsCache,
  texts: (i: number) => string,
  warmup: number,
  samples: number,
): Promise<{ product: number[]; yaml: number[] }> {
  const product: number[] = [];
  const yaml: number[] = [];
  for (let i = 0; i < warmup + samples; i++) {
    const text = texts(i);
    const t0 = performance.now();
    const codes = await validate(ws, text, cache);
    const t1 = performance.now();
    parseDocument(text);
    const t2 = performance.now();
    if (!codes.includes(FACTS_FINDING))
      throw new Error(`validation lost the server facts: ${codes.join(', ')}`);
    if (i >= warmup) {
      product.push(t1 - t0);
      yaml.push(t2 - t1);
    }
  }
  return { product, yaml };
}

export async function measureDiagnostics(
  target: ConnectionTarget,
  log: (line: string) => void,
): Promise<{ rows: BenchRow[]; raw: Record<string, number[]> }> {
  const ws = makeWorkspace(target);
  const rows: BenchRow[] = [];
  const raw: Record<string, number[]> = {};
  const section = '4. Diagnostics';
  let revision = 0;
  const edit =
    (lines: number, everyEntry = false) =>
    (i: number) =>
      configText(target, lines, {
        poolSize: 30 + (i % 20),
        revision: ++revision,
        everyEntry,
      } satisfies ConfigEdit);
  try {
    const cache = new FactsCache();
    // Fills the facts cache (one probe), as the server's first validation does.
    await validate(ws, edit(100)(0), cache);

    const cases = [
      { key: 'warm-100', lines: 100, everyEntry: false, warmup: 100, samples: 400 },
      { key: 'first-100', lines: 100, everyEntry: true, warmup: 50, samples: 200 },
      { key: 'warm-5000', lines: 5000, everyEntry: false, warmup: 10, samples: 60 },
      { key: 'first-5000', lines: 5000, everyEntry: true, warmup: 5, samples: 30 },
    ] as const;
    for (const c of cases) {
      const { product, yaml } = await timeEdits(ws, cache, edit(c.lines, c.everyEntry), c.warmup, c.samples);
      raw[`${c.key}-product`] = product;
      raw[`${c.key}-yaml`] = yaml;
      const value = summarize(product, 'ms', true);
      const baseline = summarize(yaml, 'ms', true);
      log(
        `  validation ${c.key}: p50 ${value.median.toFixed(2)} / p95 ${value.p95!.toFixed(2)} ms, yaml ${baseline.median.toFixed(2)} / ${baseline.p95!.toFixed(2)} ms`,
      );
      const lines = c.lines.toLocaleString('en-US');
      rows.push(
        compared(
          {
            section,
            label: c.everyEntry
              ? `${lines} lines, first parse (no entry cached): validate in-process`
              : `${lines} lines, edit one value: validate in-process`,
            value,
            baseline: { label: 'yaml parseDocument', value: baseline },
            note:
              `wall time per validation over ${c.samples} single validations` +
              (c.everyEntry
                ? ''
                : '; each edit changes the memory entry, the others come from the per-entry cache'),
          },
          c.key === 'warm-100'
            ? {
                text: 'p95 < 2 ms',
                meets: (_ratio, v) => (v.p95 ?? v.median) < 2,
                whenMissed:
                  `the median is ${value.median.toFixed(2)} ms, below the bare yaml parse of the same text, whose own ` +
                  `p95 is ${baseline.p95!.toFixed(2)} ms in the same run (here yaml parses 100 lines at p50 ` +
                  `${baseline.median.toFixed(2)} ms, against 0.8 ms in docs/postgres-capacity.md): the tail follows the ` +
                  'machine. Not profiled; to close it on a slow machine the per-edit work must shrink, e.g. reuse the ' +
                  'resolved targets and the .env read when only a size changed, so an edit costs the parse of one entry',
              }
            : undefined,
        ),
      );
    }
    rows.push(...(await measureRoundTrip(ws, target, log, raw)));
  } finally {
    rmSync(ws.root, { recursive: true, force: true });
  }
  return { rows, raw };
}

/**
 * The real server over stdio: one edit at a time (each waits for its own diagnostics, so the
 * debounce never merges two), timed from sending didChange to the publishDiagnostics of that
 * version, minus the 100 ms debounce. The server is not changed for the benchmark, so whatever the
 * debounce timer fires late is counted against the product.
 */
async function measureRoundTrip(
  ws: Workspace,
  target: ConnectionTarget,
  log: (line: string) => void,
  raw: Record<string, number[]>,
): Promise<BenchRow[]> {
  const session = new LspSession({
    workspace: ws.root,
    env: { [PASSWORD_VARIABLE]: target.password ?? '' },
  });
  const published: { at: number; params: PublishDiagnosticsParams }[] = [];
  let wake: (() => void) | undefined;
  // Our own handler (it replaces the session's), to see the version and the arrival time.
  session.connection.onNotification('textDocument/publishDiagnostics', (params: PublishDiagnosticsParams) => {
    published.push({ at: performance.now(), params });
    wake?.();
  });
  type Published = (typeof published)[number];
  const waitPublish = async (what: string, accept: (p: Published) => boolean, timeoutMs = 10_000) => {
    const deadline = performance.now() + timeoutMs;
    for (;;) {
      const found = published.find((p) => p.params.uri === ws.uri && accept(p));
      if (found) return found;
      if (performance.now() > deadline)
        throw new Error(`no diagnostics (${what}) within ${timeoutMs} ms\n${session.stderr}`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, deadline - performance.now());
        wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
    }
  };
  const hasFacts = (p: Published) => p.params.diagnostics.some((d) => d.code === FACTS_FINDING);
  try {
    await session.initialize();
    let revision = 1_000_000;
    const text = (i: number) => configText(target, 100, { poolSize: 30 + (i % 20), revision: ++revision });
    // First validation: debounce + parse + one probe; wait until the facts-based finding arrives.
    const opened = performance.now();
    await session.open(ws.uri, text(0), 1);
    const full = await waitPublish('first validation', (p) => p.params.version === 1 && hasFacts(p));
    const first = full.at - opened - DEBOUNCE_MS;
    const warmup = 10;
    const samples = 60;
    const times: number[] = [];
    const echoes: number[] = [];
    for (let i = 1; i <= warmup + samples; i++) {
      const version = i + 1;
      const t0 = performance.now();
      await session.change(ws.uri, text(i), version);
      const got = await waitPublish(`version ${version}`, (p) => p.params.version === version);
      if (!hasFacts(got)) throw new Error(`version ${version} was published without the cached server facts`);
      // Baseline: the same pipes and process answering a request it has no handler for.
      const e0 = performance.now();
      await session.connection.sendRequest('poolCapacityBench/echo').then(
        () => {
          throw new Error('the server answered poolCapacityBench/echo');
        },
        () => {},
      );
      const echoMs = performance.now() - e0;
      if (i > warmup) {
        times.push(got.at - t0 - DEBOUNCE_MS);
        echoes.push(echoMs);
      }
    }
    raw['lsp-json-rpc-echo'] = echoes;
    raw['lsp-round-trip'] = times;
    const value = summarize(times, 'ms', true);
    const echo = summarize(echoes, 'ms', true);
    log(
      `  LSP round trip: p50 ${value.median.toFixed(2)} / p95 ${value.p95!.toFixed(2)} ms (first validation incl. probe ${first.toFixed(1)} ms)`,
    );
    return [
      compared(
        {
          section: '4. Diagnostics',
          label: 'LSP didChange → publishDiagnostics, 100 lines, cached facts, minus debounce',
          value,
          baseline: { label: 'JSON-RPC request → error reply, same server', value: echo },
          ratioOn: 'p95',
          note: `arrival − send − ${DEBOUNCE_MS} ms over ${samples} edits (the debounce timer's lateness counts against the product); first validation after didOpen, with its probe: ${first.toFixed(1)} ms`,
        },
        {
          text: 'p95 < 10 ms',
          meets: (_ratio, v) => (v.p95 ?? v.median) < 10,
          whenMissed:
            `the median is ${value.median.toFixed(2)} ms; the tail comes from the two processes being descheduled ` +
            '(the plain JSON-RPC reply has its own tail in the same run) and from the debounce timer firing late, which ' +
            'this measure charges to the product. A quieter machine closes it; in the server, validating on the edit ' +
            'itself when no other edit is pending would take the timer out of the path',
        },
      ),
    ];
  } finally {
    await session.close();
  }
}
