/**
 * Draws a DashboardModel: the capacity bars (SVG: one focusable element per group of slots, with a
 * table of the same figures) and the load-test charts (Chart.js on canvas, each with its data table
 * for screen readers). The same bundle runs in the VS Code webview (model by postMessage) and in the
 * self-contained HTML report (model in a JSON script element). No inline styles, no eval: it runs
 * under a CSP without 'unsafe-inline' or 'unsafe-eval'.
 */
import {
  BarController,
  BarElement,
  CategoryScale,
  Chart,
  type ChartConfiguration,
  Legend,
  LinearScale,
  LineController,
  LineElement,
  PointElement,
  Tooltip,
} from 'chart.js';
import annotationPlugin from 'chartjs-plugin-annotation';
import type {
  CapacityBar,
  ChartSeries,
  ChartView,
  DashboardHostMessage,
  DashboardModel,
  DashboardViewMessage,
  LiveReading,
} from '../../shared/dashboard';
import './dashboard.css';

Chart.register(
  BarController,
  BarElement,
  CategoryScale,
  LinearScale,
  LineController,
  LineElement,
  PointElement,
  Legend,
  Tooltip,
  annotationPlugin,
);

interface VsCodeApi {
  postMessage(message: DashboardViewMessage): void;
}
declare function acquireVsCodeApi(): VsCodeApi;

const vscode: VsCodeApi | undefined = typeof acquireVsCodeApi === 'function' ? acquireVsCodeApi() : undefined;
const charts: Chart[] = [];
let model: DashboardModel | undefined;
let live: LiveReading[] = [];

// CSP violations are counted where the tests can read them: there must be none.
let violations = 0;
document.addEventListener('securitypolicyviolation', () => {
  violations++;
  document.body.dataset.cspViolations = String(violations);
});

function el<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attrs: Record<string, string> = {},
  ...children: (Node | string)[]
): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, v);
  node.append(...children);
  return node;
}

const SVG = 'http://www.w3.org/2000/svg';
function svg(tag: string, attrs: Record<string, string>, ...children: (Node | string)[]): SVGElement {
  const node = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, v);
  node.append(...children);
  return node;
}

/** A theme colour from the stylesheet's variables (VS Code's chart colours, else fallbacks). */
function tone(name: ChartSeries['tone'] | 'fg' | 'grid'): string {
  return getComputedStyle(document.body).getPropertyValue(`--pc-${name}`).trim() || '#888';
}

const pct = (n: number, total: number) => `${((100 * n) / total).toFixed(3)}%`;

function capacityBar(bar: CapacityBar): HTMLElement {
  const figure = el('figure', { class: 'bar', 'data-server': bar.serverKey, 'data-status': bar.status });
  const heading = el(
    'h3',
    {},
    `${bar.title} `,
    el('span', { class: `status status-${bar.status}` }, bar.status),
  );
  figure.append(heading);
  if (bar.segments.length > 0) {
    const total = Math.max(
      bar.limit,
      bar.segments.reduce((n, s) => n + s.slots, 0),
    );
    const chart = svg('svg', {
      class: 'slots',
      width: '100%',
      height: '56',
      role: 'group',
      'aria-label': `${bar.limitName} ${bar.limit} of ${bar.title}`,
    });
    let x = 0;
    let poolIndex = 0;
    for (const segment of bar.segments) {
      const cls =
        segment.kind === 'pool' ? `seg seg-pool seg-pool-${poolIndex++ % 4}` : `seg seg-${segment.kind}`;
      const words = `${segment.label}: ${segment.slots} ${segment.slots === 1 ? 'slot' : 'slots'}`;
      chart.append(
        svg(
          'rect',
          {
            class: cls,
            x: pct(x, total),
            y: '14',
            width: pct(segment.slots, total),
            height: '28',
            tabindex: '0',
            role: 'img',
            'aria-label': words,
            'data-kind': segment.kind,
            'data-label': segment.label,
            'data-slots': String(segment.slots),
          },
          svg('title', {}, words),
        ),
      );
      x += segment.slots;
    }
    const marker = (at: number, cls: string, label: string, top: boolean) => {
      chart.append(
        svg('line', { class: cls, x1: pct(at, total), x2: pct(at, total), y1: '8', y2: '48' }),
        svg(
          'text',
          {
            class: `${cls}-label`,
            x: pct(at, total),
            y: top ? '8' : '56',
            'text-anchor': at / total > 0.8 ? 'end' : 'start',
          },
          label,
        ),
      );
    };
    marker(bar.limit, 'limit', `${bar.limitName} ${bar.limit}`, true);
    if (bar.headroomSlots > 0)
      marker(bar.limit - bar.headroomSlots, 'headroom', `headroom: ${bar.headroomSlots} kept free`, false);
    const group = svg('g', { class: 'live', 'data-server': bar.serverKey });
    chart.append(group);
    figure.append(chart);
  }
  const verdict = el('ul', { class: 'verdict' });
  for (const line of bar.verdict) verdict.append(el('li', {}, line));
  for (const line of bar.remedies) verdict.append(el('li', { class: 'remedy' }, `Fix: ${line}`));
  figure.append(verdict);
  if (bar.segments.length > 0) {
    // Each row carries its segment's colour: the table is also the bar's legend.
    let legendPool = 0;
    const rows = bar.segments.map((s) => {
      const cls = s.kind === 'pool' ? `seg seg-pool seg-pool-${legendPool++ % 4}` : `seg seg-${s.kind}`;
      const swatch = svg(
        'svg',
        { class: 'swatch', width: '12', height: '12', 'aria-hidden': 'true' },
        svg('rect', { class: cls, x: '0.5', y: '0.5', width: '11', height: '11' }),
      );
      return el(
        'tr',
        { 'data-kind': s.kind },
        el('th', { scope: 'row' }, swatch, s.label),
        el('td', {}, String(s.slots)),
      );
    });
    const table = el(
      'table',
      { class: 'figures' },
      el('caption', {}, `Where the ${bar.limit} slots of ${bar.limitName} go`),
      el(
        'thead',
        {},
        el('tr', {}, el('th', { scope: 'col' }, 'slots for'), el('th', { scope: 'col' }, 'slots')),
      ),
      el(
        'tbody',
        {},
        ...rows,
        el(
          'tr',
          { 'data-kind': 'headroom' },
          el('th', { scope: 'row' }, 'headroom kept free'),
          el('td', {}, String(bar.headroomSlots)),
        ),
        // Live only in the editor: a static report has no status poll.
        ...(vscode && bar.kind === 'server'
          ? [
              el(
                'tr',
                { 'data-kind': 'live' },
                el('th', { scope: 'row' }, 'in use now (all clients)'),
                el('td', { class: 'live-figure', 'data-server': bar.serverKey }, '–'),
              ),
            ]
          : []),
      ),
    );
    figure.append(table);
  }
  return figure;
}

/** The status poll's reading as a marker on each server's bar and a figure in its table. */
function applyLive(): number {
  let shown = 0;
  for (const bar of model?.capacity?.bars ?? []) {
    if (bar.kind !== 'server') continue;
    const reading = live.find((r) => r.serverKey === bar.serverKey);
    const group = document.querySelector<SVGGElement>(`g.live[data-server="${CSS.escape(bar.serverKey)}"]`);
    const cell = document.querySelector<HTMLElement>(
      `td.live-figure[data-server="${CSS.escape(bar.serverKey)}"]`,
    );
    group?.replaceChildren();
    if (cell) cell.textContent = reading?.inUseNow === undefined ? '–' : String(reading.inUseNow);
    if (!group || reading?.inUseNow === undefined) continue;
    const reserved = bar.segments.find((s) => s.kind === 'reserved')?.slots ?? 0;
    const total = Math.max(
      bar.limit,
      bar.segments.reduce((n, s) => n + s.slots, 0),
    );
    const at = Math.min(total, reserved + reading.inUseNow);
    group.append(
      svg('line', { class: 'now', x1: pct(at, total), x2: pct(at, total), y1: '10', y2: '46' }),
      svg(
        'text',
        { class: 'now-label', x: pct(at, total), y: '56', 'text-anchor': 'middle' },
        `in use now ${reading.inUseNow}`,
      ),
    );
    shown++;
  }
  return shown;
}

function chartConfig(view: ChartView): ChartConfiguration {
  const numericX = typeof view.x[0] === 'number';
  const rightAxis = view.series.some((s) => s.axis === 'right');
  const datasets = view.series.map((s) => ({
    label: s.label,
    data: numericX ? (view.x as number[]).map((x, i) => ({ x, y: s.values[i] ?? null })) : s.values,
    borderColor: tone(s.tone),
    backgroundColor: tone(s.tone),
    yAxisID: s.axis === 'right' ? 'y2' : 'y',
    ...(s.stack ? { stack: s.stack } : {}),
    spanGaps: true,
    pointRadius: view.kind === 'line' ? 2 : 0,
  }));
  const annotations: Record<string, object> = {};
  view.markers.forEach((m, i) => {
    annotations[`marker${i}`] = {
      type: 'line',
      xMin: m.at,
      xMax: m.at,
      borderColor: tone(m.tone),
      borderWidth: 2,
      borderDash: [6, 4],
      label: {
        display: true,
        content: m.label,
        position: 'start',
        color: tone('fg'),
        backgroundColor: 'transparent',
      },
    };
  });
  (view.levels ?? []).forEach((m, i) => {
    annotations[`level${i}`] = {
      type: 'line',
      yMin: m.at,
      yMax: m.at,
      borderColor: tone(m.tone),
      borderWidth: 1,
      borderDash: [6, 4],
      label: {
        display: true,
        content: m.label,
        position: 'end',
        color: tone('fg'),
        backgroundColor: 'transparent',
      },
    };
  });
  (view.spans ?? []).forEach((span, i) => {
    annotations[`span${i}`] = {
      type: 'box',
      xMin: span.from,
      xMax: span.to,
      backgroundColor: i % 2 === 0 ? 'rgba(128,128,128,0.12)' : 'rgba(128,128,128,0.06)',
      borderWidth: 0,
      label: { display: true, content: span.label, position: { x: 'center', y: 'start' }, color: tone('fg') },
    };
  });
  const fg = tone('fg');
  const grid = tone('grid');
  const axis = (text: string) => ({
    title: { display: true, text, color: fg },
    ticks: { color: fg },
    grid: { color: grid },
  });
  const stacked = view.series.some((s) => s.stack);
  return {
    type: view.kind,
    data: { ...(numericX ? {} : { labels: view.x as string[] }), datasets },
    options: {
      animation: false,
      responsive: true,
      maintainAspectRatio: false,
      plugins: {
        legend: { labels: { color: fg } },
        annotation: { annotations },
      },
      scales: {
        x: { type: numericX ? 'linear' : 'category', stacked, ...axis(view.xLabel) },
        y: { beginAtZero: true, stacked, ...axis(view.yLabel) },
        ...(rightAxis
          ? {
              y2: {
                position: 'right',
                beginAtZero: true,
                ...axis(view.y2Label ?? ''),
                grid: { drawOnChartArea: false },
              },
            }
          : {}),
      },
    },
  } as ChartConfiguration;
}

function chartFigure(view: ChartView, pending: [HTMLCanvasElement, ChartView][]): HTMLElement {
  const markers = [...view.markers, ...(view.levels ?? [])].map((m) => m.label);
  const canvas = el('canvas', {
    role: 'img',
    'aria-label': `${view.title}. ${view.xLabel} against ${view.yLabel}${view.y2Label ? ` and ${view.y2Label}` : ''}. The figures are in the table below.`,
    'data-chart': view.id,
    'data-x-label': view.xLabel,
    'data-y-label': view.yLabel,
    'data-markers': markers.join('|'),
  });
  const header = el(
    'tr',
    {},
    el('th', { scope: 'col' }, view.xLabel),
    ...view.series.map((s) => el('th', { scope: 'col' }, s.label)),
  );
  const rows = (view.x as (number | string)[]).map((x, i) =>
    el(
      'tr',
      {},
      el('th', { scope: 'row' }, String(x)),
      ...view.series.map((s) => el('td', {}, s.values[i] === null ? '–' : String(s.values[i]))),
    ),
  );
  const table = el('table', { class: 'figures' }, el('thead', {}, header), el('tbody', {}, ...rows));
  const details = el(
    'details',
    {},
    el('summary', {}, `Figures${markers.length ? ` (${markers.join(', ')})` : ''}`),
    table,
  );
  const figure = el(
    'figure',
    { class: 'chart', 'data-chart': view.id },
    el('figcaption', {}, view.title),
    el('div', { class: 'canvas-box' }, canvas),
    details,
  );
  pending.push([canvas, view]);
  return figure;
}

function render(next: DashboardModel): void {
  model = next;
  for (const chart of charts.splice(0)) chart.destroy();
  const root = document.getElementById('app')!;
  root.replaceChildren();
  root.append(el('h1', {}, next.title));
  if (vscode) {
    const toolbar = el('div', { class: 'toolbar', role: 'toolbar', 'aria-label': 'Dashboard actions' });
    const button = (label: string, command: 'refresh' | 'capacityTest' | 'sweep') => {
      const b = el('button', { type: 'button', 'data-command': command }, label);
      b.addEventListener('click', () => vscode.postMessage({ type: 'command', command }));
      return b;
    };
    toolbar.append(
      button('Refresh', 'refresh'),
      button('Run capacity test', 'capacityTest'),
      button('Run capacity sweep', 'sweep'),
    );
    root.append(toolbar);
  }
  const capacity = el(
    'section',
    { class: 'capacity', 'aria-label': 'Capacity' },
    el('h2', {}, 'Where the slots go'),
  );
  if (next.capacity) {
    const c = next.capacity;
    capacity.append(
      el(
        'p',
        { class: 'meta' },
        `${c.configLabel}: target ${c.targetAgents} concurrent agents; servers read at ${c.readAt}`,
      ),
    );
    for (const line of c.unreachable) capacity.append(el('p', { class: 'error' }, line));
    for (const bar of c.bars) capacity.append(capacityBar(bar));
    if (c.planning.length) {
      const list = el('ul', { class: 'planning' });
      for (const line of c.planning) list.append(el('li', {}, line));
      capacity.append(el('h3', {}, 'Planning'), list);
    }
  } else {
    capacity.append(el('p', { class: 'meta' }, next.capacityMessage ?? 'No capacity report.'));
  }
  root.append(capacity);
  const pending: [HTMLCanvasElement, ChartView][] = [];
  if (next.runs.length) {
    const runs = el('section', { class: 'runs', 'aria-label': 'Load tests' }, el('h2', {}, 'Load tests'));
    for (const run of next.runs) {
      const section = el('section', { class: 'run', 'data-run': run.runId, 'data-verdict': run.verdict });
      section.append(
        el('h3', {}, `${run.title} `, el('span', { class: `status status-${run.verdict}` }, run.verdict)),
        el('p', { class: 'meta' }, run.summary),
      );
      for (const view of run.charts) {
        section.append(chartFigure(view, pending));
      }
      runs.append(section);
    }
    root.append(runs);
  }
  if (next.trends.length) {
    const trends = el(
      'section',
      { class: 'trends', 'aria-label': 'Trend across runs' },
      el('h2', {}, 'Trend across runs'),
    );
    for (const view of next.trends) {
      trends.append(chartFigure(view, pending));
    }
    root.append(trends);
  }
  for (const [canvas, view] of pending) charts.push(new Chart(canvas, chartConfig(view)));
  const shown = applyLive();
  document.body.dataset.rendered = String(Date.now());
  vscode?.postMessage({
    type: 'rendered',
    bars: next.capacity?.bars.length ?? 0,
    charts: charts.length,
    live: shown,
  });
}

window.addEventListener('message', (event: MessageEvent<DashboardHostMessage>) => {
  const message = event.data;
  if (message?.type === 'model') render(message.model);
  else if (message?.type === 'live') {
    live = message.readings;
    const shown = applyLive();
    document.body.dataset.liveAt = String(message.readAt);
    if (model)
      vscode?.postMessage({
        type: 'rendered',
        bars: model.capacity?.bars.length ?? 0,
        charts: charts.length,
        live: shown,
      });
  }
});

// The theme changed (VS Code swaps the body's class): redraw the charts in its colours.
new MutationObserver(() => {
  if (model) render(model);
}).observe(document.body, { attributes: true, attributeFilter: ['class'] });

const embedded = document.getElementById('dashboard-data');
if (embedded?.textContent) render(JSON.parse(embedded.textContent) as DashboardModel);
vscode?.postMessage({ type: 'ready' });
