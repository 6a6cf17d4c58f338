/**
 * The charts of a load-test run, a capacity sweep and the run history, as data (ChartView). Pure:
 * every figure is read off the report; the renderer only draws.
 */
import type {
  ChartSeries,
  ChartView,
  HistoryEntry,
  RunView,
  SweepReport,
} from '../../../../shared/dashboard';
import type { LoadTestReport } from '../../../../shared/loadTest';
import { FAILURE_LABELS, type FailureClass } from '../connection/connectFailure';
import { formatPercent, summaryLine } from '../loadtest/reportTable';

const seconds = (ms: number) => Math.round(ms) / 1000;

/** The run's connections on each server over time (seconds from the first sample), phases shaded. */
export function connectionsChart(report: LoadTestReport): ChartView | undefined {
  const samples = report.samples ?? [];
  if (samples.length === 0) return undefined;
  const origin = Math.min(
    ...samples.map((s) => s.at),
    ...report.phases.map((p) => p.startedAtMs ?? Infinity),
  );
  const times = [...new Set(samples.map((s) => seconds(s.at - origin)))].sort((a, b) => a - b);
  const servers = [...new Set(samples.map((s) => s.server))];
  const tones: ChartSeries['tone'][] = ['blue', 'purple', 'orange', 'green'];
  const series = servers.map((server, i): ChartSeries => {
    const at = new Map(
      samples.filter((s) => s.server === server).map((s) => [seconds(s.at - origin), s.connections]),
    );
    return {
      label: servers.length > 1 ? `connections on ${server}` : 'connections of this run',
      values: times.map((t) => at.get(t) ?? null),
      tone: tones[i % tones.length]!,
    };
  });
  const poolSize = report.pools.reduce((n, p) => n + p.poolSize, 0);
  return {
    id: 'connections',
    title: 'Connections on the server during the run',
    kind: 'line',
    x: times,
    xLabel: 'seconds since the run started',
    yLabel: 'connections',
    series,
    markers: [],
    spans: report.phases.flatMap((p) =>
      p.startedAtMs === undefined
        ? []
        : [
            {
              from: seconds(p.startedAtMs - origin),
              to: seconds(p.startedAtMs - origin + p.wallMs),
              label: p.label,
            },
          ],
    ),
    levels:
      poolSize > 0 && report.options.mode === 'pool'
        ? [{ at: poolSize, label: `pool size ${poolSize}`, tone: 'blue' }]
        : [],
  };
}

/** Cold connects vs warm checkouts per phase (p50 and p95, ms). */
export function latencyChart(report: LoadTestReport): ChartView {
  const perPhase = report.phases.length > 0 && report.phases.every((p) => p.connectMs && p.acquireMs);
  const rows = perPhase
    ? report.phases.map((p) => ({ label: p.label, connect: p.connectMs!, acquire: p.acquireMs! }))
    : [{ label: 'run', connect: report.connectMs, acquire: report.acquireMs }];
  const value = (s: { count: number; p50: number; p95: number }, k: 'p50' | 'p95') =>
    s.count === 0 ? null : s[k];
  return {
    id: 'latency',
    title: 'Latency per phase: connect (cold) vs acquire (warm)',
    kind: 'bar',
    x: rows.map((r) => r.label),
    xLabel: 'phase',
    yLabel: 'ms',
    series: [
      { label: 'connect p50', values: rows.map((r) => value(r.connect, 'p50')), tone: 'blue' },
      { label: 'connect p95', values: rows.map((r) => value(r.connect, 'p95')), tone: 'purple' },
      { label: 'acquire p50', values: rows.map((r) => value(r.acquire, 'p50')), tone: 'green' },
      { label: 'acquire p95', values: rows.map((r) => value(r.acquire, 'p95')), tone: 'yellow' },
    ],
    markers: [],
  };
}

/** Agents that succeeded and failed (by class) per phase, stacked. */
export function outcomesChart(report: LoadTestReport): ChartView {
  const classes = Object.keys(report.failures);
  const tones: ChartSeries['tone'][] = ['red', 'orange', 'yellow', 'purple', 'grey'];
  const perPhase = report.phases.every((p) => p.failures !== undefined);
  return {
    id: 'outcomes',
    title: 'Agents per phase: succeeded and failed by class',
    kind: 'bar',
    x: report.phases.map((p) => p.label),
    xLabel: 'phase',
    yLabel: 'agents',
    series: [
      { label: 'succeeded', values: report.phases.map((p) => p.succeeded), tone: 'green', stack: 'agents' },
      ...(perPhase
        ? classes.map(
            (cls, i): ChartSeries => ({
              label: FAILURE_LABELS[cls as FailureClass] ?? cls,
              values: report.phases.map((p) => p.failures?.[cls] ?? 0),
              tone: tones[i % tones.length]!,
              stack: 'agents',
            }),
          )
        : [
            {
              label: 'failed',
              values: report.phases.map((p) => p.failed),
              tone: 'red' as const,
              stack: 'agents',
            },
          ]),
    ],
    markers: [],
  };
}

/** Sustained: the run's connections on the server after each round; a line that climbs is a leak. */
export function leakChart(report: LoadTestReport): ChartView | undefined {
  if (report.shape !== 'sustained') return undefined;
  const rounds = report.phases.filter((p) => p.connectionsAfter !== undefined);
  return {
    id: 'leak',
    title: `Connections after each round (leak ${report.leakDetected ? 'detected' : 'none'})`,
    kind: 'line',
    x: rounds.map((p) => p.label),
    xLabel: 'round',
    yLabel: 'connections after the round',
    series: [
      {
        label: 'connections after',
        values: rounds.map((p) => p.connectionsAfter!),
        tone: report.leakDetected ? 'red' : 'blue',
      },
    ],
    markers: [],
  };
}

const SHAPE_NAMES = { capacity: 'Capacity test', burst: 'Burst test', sustained: 'Sustained test' } as const;

/** A run's charts, in the order a reader asks: what happened on the server, how fast, who failed. */
export function runView(report: LoadTestReport): RunView {
  const pools = report.pools.map((p) => `${p.name} ${p.poolSize}`).join(', ');
  return {
    runId: report.runId,
    title: `${SHAPE_NAMES[report.shape]} ${report.runId}: ${report.options.agents} agents, ${pools} (${report.startedAt})`,
    verdict: report.verdict,
    summary: summaryLine(report),
    charts: [connectionsChart(report), latencyChart(report), outcomesChart(report), leakChart(report)].filter(
      (c): c is ChartView => c !== undefined,
    ),
  };
}

/** The sweep as one picture: success rate and p95 against agents, pool size and usable slots marked. */
export function sweepChart(sweep: SweepReport): ChartView {
  return {
    id: 'sweep',
    title: 'Capacity sweep: success rate and p95 latency by agents',
    kind: 'line',
    x: sweep.steps.map((s) => s.agents),
    xLabel: 'concurrent agents',
    yLabel: 'success rate (%)',
    y2Label: 'p95 latency (ms)',
    series: [
      {
        label: 'success rate',
        values: sweep.steps.map((s) => Math.round(s.successRate * 1000) / 10),
        tone: 'green',
      },
      { label: 'p95 latency', values: sweep.steps.map((s) => s.p95Ms), tone: 'orange', axis: 'right' },
    ],
    markers: [
      { at: sweep.poolSize, label: `pool size ${sweep.poolSize}`, tone: 'blue' },
      ...(sweep.usableSlots !== undefined
        ? [{ at: sweep.usableSlots, label: `usable slots ${sweep.usableSlots}`, tone: 'red' as const }]
        : []),
    ],
  };
}

export function sweepView(sweep: SweepReport): RunView {
  const last = sweep.steps[sweep.steps.length - 1];
  const stopped = sweep.stoppedAt
    ? `; stopped at ${sweep.stoppedAt.agents} agents: ${sweep.stoppedAt.reason}`
    : '';
  return {
    runId: sweep.runId,
    title: `Capacity sweep ${sweep.runId}: ${sweep.range.from}..${sweep.range.to} step ${sweep.range.step}, ${sweep.pools} (${sweep.startedAt})`,
    verdict: sweep.verdict,
    summary: `${sweep.verdict} ${sweep.steps.length} steps${last ? `, last ${last.agents} agents ${formatPercent(last.successRate)}` : ''}${stopped}`,
    charts: [sweepChart(sweep)],
  };
}

/** The sweep as the output channel's text block. */
export function formatSweepTable(sweep: SweepReport): string {
  const key = (word: string) => (word.length >= 9 ? `${word} ` : word.padEnd(9));
  const lines = [
    `${key('Run')}${sweep.runId}  capacity sweep ${sweep.range.from}..${sweep.range.to} step ${sweep.range.step}, hold ${sweep.options.durationMs} ms  (${sweep.startedAt})`,
    `${key('Pool')}${sweep.pools}; pool size ${sweep.poolSize}${sweep.usableSlots !== undefined ? `, ${sweep.usableSlots} usable slots` : ''}`,
    `${key('Test')}${'Phase'.padEnd(12)}${'Agents'.padStart(7)}${'Success'.padStart(9)}${'p95'.padStart(10)}  Notes`,
  ];
  for (const [i, step] of sweep.steps.entries()) {
    const notes = [
      step.agents > sweep.poolSize ? 'past the pool size' : '',
      sweep.usableSlots !== undefined && step.agents > sweep.usableSlots ? 'past the usable slots' : '',
    ].filter(Boolean);
    lines.push(
      `${key(step.verdict)}${`step ${i + 1}`.padEnd(12)}${String(step.agents).padStart(7)}${formatPercent(step.successRate).padStart(9)}` +
        `${`${step.p95Ms.toFixed(1)} ms`.padStart(10)}  ${[`run ${step.runId}`, ...notes].join(', ')}`.trimEnd(),
    );
  }
  if (sweep.stoppedAt)
    lines.push(`${key('Note')}stopped at ${sweep.stoppedAt.agents} agents: ${sweep.stoppedAt.reason}`);
  lines.push(`${key('Result')}${sweep.verdict}  ${sweep.steps.length} steps`);
  return lines.join('\n');
}

/** A run as the history keeps it. */
export function historyEntry(report: LoadTestReport): HistoryEntry {
  return {
    runId: report.runId,
    startedAt: report.startedAt,
    shape: report.shape,
    configKey: report.pools.map((p) => `${p.name}@${p.server}`).join(' + '),
    poolSizes: report.pools.map((p) => `${p.name} ${p.poolSize}`).join(', '),
    agents: report.options.agents,
    successRate: report.successRate,
    p95Ms: report.latencyMs.p95,
    verdict: report.verdict,
  };
}

/** Success rate and p95 across saved runs, one chart per config and shape (oldest first). */
export function trendCharts(entries: readonly HistoryEntry[]): ChartView[] {
  const groups = new Map<string, HistoryEntry[]>();
  for (const e of [...entries].sort((a, b) => a.startedAt.localeCompare(b.startedAt))) {
    const key = `${e.shape}\0${e.configKey}`;
    groups.set(key, [...(groups.get(key) ?? []), e]);
  }
  return [...groups.values()]
    .filter((runs) => runs.length >= 2)
    .map((runs, i) => ({
      id: `trend-${i}`,
      title: `Trend: ${runs[0]!.shape} runs of ${runs[0]!.configKey} (${runs.length} runs)`,
      kind: 'line' as const,
      x: runs.map((r) => `${r.startedAt.slice(5, 16).replace('T', ' ')} ${r.poolSizes}, ${r.agents} agents`),
      xLabel: 'run (pool sizes, agents)',
      yLabel: 'success rate (%)',
      y2Label: 'p95 latency (ms)',
      series: [
        {
          label: 'success rate',
          values: runs.map((r) => Math.round(r.successRate * 1000) / 10),
          tone: 'green' as const,
        },
        {
          label: 'p95 latency',
          values: runs.map((r) => r.p95Ms),
          tone: 'orange' as const,
          axis: 'right' as const,
        },
      ],
      markers: [],
    }));
}
