/**
 * A load-test report as a plain-text table, in the shape our users' load-test write-ups take: one line per
 * capacity run / burst / round with PASS, WARN, FAIL or CANCELLED. The CLI and the "Pool Capacity" output channel
 * print the same text. Every line starts with a stable word (Run, Pool, Test, PASS, WARN, FAIL, CANCELLED, Total,
 * Latency, Failures, Leak, Failover, Server, Note, Result) so the TextMate grammar in syntaxes/ can colour it.
 */
import type {
  FailoverEvent,
  LatencySummary,
  LoadTestPhase,
  LoadTestReport,
  Verdict,
} from '../../../../shared/loadTest';
import { FAILURE_LABELS, type FailureClass } from '../connection/connectFailure';

const KEY_WIDTH = 9;
// CANCELLED is one letter wider than the column: it keeps one space rather than widening every line.
const key = (word: string) => (word.length >= KEY_WIDTH ? `${word} ` : word.padEnd(KEY_WIDTH));

/** ms with precision that keeps sub-millisecond warm checkouts readable. */
export function formatMs(ms: number): string {
  if (ms < 1) return `${ms.toFixed(2)} ms`;
  if (ms < 100) return `${ms.toFixed(1)} ms`;
  return `${Math.round(ms)} ms`;
}

/** Seconds as our users' Python load-test scripts printed them: "0.45s". */
export function formatSeconds(ms: number): string {
  return `${(ms / 1000).toFixed(2)}s`;
}

export function formatPercent(rate: number): string {
  return `${(rate * 100).toFixed(rate === 1 || rate === 0 ? 0 : 1)}%`;
}

function latencyLine(what: string, summary: LatencySummary): string {
  if (summary.count === 0) return `${key('Latency')}${what.padEnd(17)} none`;
  return (
    `${key('Latency')}${what.padEnd(17)} p50 ${formatMs(summary.p50)}  p95 ${formatMs(summary.p95)}` +
    `  p99 ${formatMs(summary.p99)}  max ${formatMs(summary.max)}  (${summary.count})`
  );
}

function phaseNote(phase: LoadTestPhase, report: LoadTestReport): string {
  const notes: string[] = [];
  if (phase.failed > 0)
    notes.push(`${phase.failed} ${phase.verdict === 'CANCELLED' ? 'not finished' : 'failed'}`);
  if (phase.inFailoverWindow) notes.push(`${phase.inFailoverWindow} in the failover window`);
  if (phase.verdict === 'WARN' && report.options.mode === 'pool') {
    notes.push(report.options.onExhausted === 'fail' ? 'pool exhaustion' : 'acquire timeouts past pool size');
  } else if (phase.verdict === 'WARN') notes.push('server refused past its slots');
  if (phase.connectionsAfter !== undefined) notes.push(`${phase.connectionsAfter} connections after`);
  return notes.join(', ');
}

function describeShape(report: LoadTestReport): string {
  const o = report.options;
  const shape =
    report.shape === 'burst'
      ? `burst test (${o.bursts} x ${o.agents} agents, ${o.pauseMs} ms pause)`
      : report.shape === 'sustained'
        ? `sustained test (${o.rounds} rounds of ${o.agents} agents)`
        : `capacity test (${o.agents} agents)`;
  const mode =
    o.mode === 'direct'
      ? 'mode direct (one connection per agent)'
      : o.onExhausted === 'fail'
        ? 'mode pool, fail when exhausted'
        : `mode pool, wait up to ${o.acquireTimeoutMs} ms when exhausted`;
  return `${shape}, hold ${o.durationMs} ms, ${mode}`;
}

/** The whole report as lines of text (no trailing newline). */
export function formatReportTable(report: LoadTestReport): string {
  const lines: string[] = [];
  lines.push(`${key('Run')}${report.runId}  ${describeShape(report)}  (${report.startedAt})`);
  for (const pool of report.pools) {
    const size =
      pool.minSize !== undefined ? `size ${pool.poolSize} (min ${pool.minSize})` : `size ${pool.poolSize}`;
    const agents = pool.agents !== undefined ? `, ${pool.agents} agents` : '';
    lines.push(`${key('Pool')}${pool.name} ${size}${agents}  ${pool.server}`);
  }
  lines.push(
    `${key('Test')}${'Phase'.padEnd(12)}${'Agents'.padStart(7)}${'Success'.padStart(9)}${'Duration'.padStart(10)}  Notes`,
  );
  for (const phase of report.phases) {
    const rate = phase.agents === 0 ? 0 : phase.succeeded / phase.agents;
    lines.push(
      `${key(phase.verdict ?? verdictOf(phase))}${phase.label.padEnd(12)}${String(phase.agents).padStart(7)}` +
        `${formatPercent(rate).padStart(9)}${formatSeconds(phase.wallMs).padStart(10)}  ${phaseNote(phase, report)}`.trimEnd(),
    );
  }
  if (report.phases.length > 1) {
    const average = report.phases.reduce((sum, p) => sum + p.wallMs, 0) / report.phases.length;
    const what = report.shape === 'burst' ? 'burst' : 'round';
    lines.push(
      `${key('Total')}${''.padEnd(12)}${String(report.agents).padStart(7)}${formatPercent(report.successRate).padStart(9)}` +
        `${formatSeconds(report.wallMs).padStart(10)}  average ${what} ${formatSeconds(average)}`,
    );
  }
  lines.push(latencyLine('agent', report.latencyMs));
  lines.push(latencyLine('connect (cold)', report.connectMs));
  lines.push(latencyLine('acquire (warm)', report.acquireMs));
  const classes = Object.keys(report.failures);
  if (classes.length === 0) lines.push(`${key('Failures')}none`);
  for (const cls of classes) {
    const label = FAILURE_LABELS[cls as FailureClass] ?? cls;
    const example = report.failureExamples[cls];
    lines.push(
      `${key('Failures')}${cls} ${report.failures[cls]}: ${label}${example && example !== label ? ` ("${example}")` : ''}`,
    );
  }
  if (report.shape === 'sustained') {
    const counts = report.phases.flatMap((p) =>
      p.connectionsAfter === undefined ? [] : [p.connectionsAfter],
    );
    lines.push(
      `${key('Leak')}${report.leakDetected ? 'detected' : 'none'}: connections after each round ${counts.join(' -> ') || 'not counted'}`,
    );
  }
  lines.push(...failoverLines(report));
  lines.push(
    `${key('Server')}peak ${report.peakServerConnections} connections of this run, ${report.leftover} left after it`,
  );
  for (const reason of report.verdictReasons) lines.push(`${key('Note')}${reason}`);
  lines.push(
    `${key('Result')}${report.verdict}  ${report.succeeded}/${report.agents} agents succeeded (${formatPercent(report.successRate)}) in ${formatSeconds(report.wallMs)}` +
      (report.cancelled ? ', cancelled' : ''),
  );
  return lines.join('\n');
}

const clock = (at: number) => new Date(at).toISOString().slice(11, 23);

/** A cluster's run: the leaders it used, the failover window event by event, the reconnect burst. */
function failoverLines(report: LoadTestReport): string[] {
  const f = report.failover;
  if (!f) return [];
  const lines = [
    `${key('Failover')}${f.verdict}  leader ${f.leaders.map((l) => `${l.member} (${l.server})`).join(' -> ')}, failoverTimeout ${f.timeoutS} s`,
  ];
  const w = f.window;
  if (w) {
    const event = (what: string, e: FailoverEvent | undefined) =>
      e
        ? `${key('Failover')}${what.padEnd(24)}${clock(e.at)}${e.member ? ` on ${e.member}` : ''}${e.class ? ` (${e.class})` : ''}`
        : `${key('Failover')}${what.padEnd(24)}none`;
    lines.push(event('last success before', w.lastSuccessBefore));
    lines.push(event('first failure', w.firstFailure));
    lines.push(event('first success after', w.firstSuccessAfter));
    if (w.gapMs !== undefined)
      lines.push(`${key('Failover')}${'window'.padEnd(24)}${formatSeconds(w.gapMs)} without a success`);
  }
  const b = f.reconnectBurst;
  if (b) {
    const refused = Object.entries(b.refusals).map(([cls, n]) => `${n} ${cls}`);
    lines.push(
      `${key('Failover')}reconnect burst on ${b.member}: ${b.admitted} of ${b.wanted} connections admitted at once` +
        `${b.otherClients !== undefined ? ` beside ${b.otherClients} other clients` : ''}, ${refused.length ? `refused: ${refused.join(', ')}` : 'no refusals'} (${b.wallMs} ms)`,
    );
  }
  return lines;
}

function verdictOf(phase: LoadTestPhase): Verdict {
  return phase.failed === 0 ? 'PASS' : 'FAIL';
}

/** One line for a status bar tooltip or a notification: "PASS capacity 35 agents: 35/35 (100%) in 0.41s". */
export function summaryLine(report: LoadTestReport): string {
  const what =
    report.shape === 'capacity'
      ? `capacity ${report.options.agents} agents`
      : report.shape === 'burst'
        ? `burst ${report.options.bursts} x ${report.options.agents}`
        : `sustained ${report.options.rounds} x ${report.options.agents}`;
  const extras = [
    report.leakDetected ? 'leak' : '',
    report.leftover > 0 ? `${report.leftover} left over` : '',
    report.cancelled ? 'cancelled' : '',
  ].filter(Boolean);
  return (
    `${report.verdict} ${what}: ${report.succeeded}/${report.agents} (${formatPercent(report.successRate)}) in ${formatSeconds(report.wallMs)}` +
    (extras.length > 0 ? `, ${extras.join(', ')}` : '')
  );
}
