/**
 * What the capacity dashboard (the webview) and the HTML report draw. Built by pure functions in
 * server/src/core/dashboard/ from the capacity plan and load-test reports; the renderer
 * (client/webview/dashboard.ts) only draws it, so both pictures show the same figures.
 */
import type { LoadTestOptions, LoadTestShape, Verdict } from './loadTest';

/** Where one group of a server's slots goes. */
export type SegmentKind = 'reserved' | 'others' | 'pool' | 'free' | 'over';

export interface BarSegment {
  kind: SegmentKind;
  /** e.g. "reserved for superusers", "used by other clients", "project pool", "free". */
  label: string;
  slots: number;
}

/**
 * One horizontal bar of a server's `max_connections` (or a PgBouncer's `max_client_conn`): reserved,
 * other clients, each pool, free; `over` is what the pools need past the limit.
 */
export interface CapacityBar {
  /** `member`: one member of the Patroni cluster the patroni pool uses (the leader, or a replica as if promoted). */
  kind: 'server' | 'pooler' | 'member';
  serverKey: string;
  /** e.g. "PostgreSQL 17.2 on 127.0.0.1:5432". */
  title: string;
  /** The limit the bar is drawn against and its setting's name. */
  limit: number;
  limitName: 'max_connections' | 'max_client_conn';
  segments: BarSegment[];
  /** Slots that must stay free (the headroom); the marker sits this far before the limit. */
  headroomSlots: number;
  /** OK / WARN / FAIL from the budget; UNJUDGED when its limits could not be read. */
  status: 'OK' | 'WARN' | 'FAIL' | 'UNJUDGED';
  /** The verdict in words: the budget's own lines. */
  verdict: string[];
  /** What would make the sizes fit, from the same budget. */
  remedies: string[];
  /** Slots the pools' roles may use at all (servers and members). */
  usable?: number;
  /** A Patroni member's place in the cluster (member bars only). */
  member?: {
    name: string;
    /** Patroni's role: leader, replica, standby_leader, ... */
    role: string;
    /** Patroni may promote it (a running replica without nofailover). */
    promotable: boolean;
    /** The promotable member with the least room for the pool: the worst single failover. */
    worstFailover: boolean;
  };
}

/** The capacity dashboard's top half: the plan of one config. */
export interface CapacityView {
  configLabel: string;
  targetAgents: number;
  bars: CapacityBar[];
  /** Pools whose server could not be read, one line each (password-free). */
  unreachable: string[];
  /** The plan's planning lines (guaranteed, burst capacity, headroom). */
  planning: string[];
  readAt: string;
}

/** The live reading of one server: connections in use now (all clients), from the status poll. */
export interface LiveReading {
  serverKey: string;
  inUseNow?: number;
  maxConnections?: number;
}

/** A chart as data: labelled x values and series of y values, plus vertical markers. */
export interface ChartSeries {
  label: string;
  values: (number | null)[];
  /** Which colour family: the renderer maps it to a theme colour. */
  tone: 'blue' | 'green' | 'red' | 'orange' | 'yellow' | 'purple' | 'grey';
  /** Draw on the right-hand axis (a second unit). */
  axis?: 'right';
  /** For bar charts: series with the same stack are stacked. */
  stack?: string;
}

export interface ChartMarker {
  /** Position on the x axis (a number on linear axes, a label's index on category axes). */
  at: number;
  label: string;
  tone: ChartSeries['tone'];
}

export interface ChartView {
  id: string;
  title: string;
  kind: 'line' | 'bar';
  /** Numeric x (linear axis) or labels (category axis). */
  x: number[] | string[];
  xLabel: string;
  yLabel: string;
  /** Right-hand axis title, when a series uses it. */
  y2Label?: string;
  series: ChartSeries[];
  markers: ChartMarker[];
  /** Horizontal lines across the chart (e.g. the pool size on a connections chart). */
  levels?: ChartMarker[];
  /** Shaded spans of the x axis (phases), linear axes only. */
  spans?: { from: number; to: number; label: string }[];
}

/** The charts of one load-test run (or sweep), with what to call it. */
export interface RunView {
  runId: string;
  title: string;
  verdict: Verdict;
  /** The run's result line, e.g. "PASS 35/35 agents succeeded (100%) in 0.41s". */
  summary: string;
  charts: ChartView[];
}

/** One saved run, as the trend needs it. */
export interface HistoryEntry {
  runId: string;
  startedAt: string;
  shape: LoadTestShape | 'sweep';
  /** Which pools on which servers (sizes left out: the trend shows the effect of changing them). */
  configKey: string;
  /** e.g. "project 40" or "project 40, shared 15". */
  poolSizes: string;
  agents: number;
  successRate: number;
  p95Ms: number;
  verdict: Verdict;
}

/** Everything one dashboard (or HTML report) shows. */
export interface DashboardModel {
  /** e.g. "Pool Capacity — demo/.claude-flow/config.yaml". */
  title: string;
  generatedAt: string;
  capacity?: CapacityView;
  /** Message instead of the capacity view (untrusted workspace, config not readable). */
  capacityMessage?: string;
  runs: RunView[];
  /** Trend charts across saved runs of the same config and shape. */
  trends: ChartView[];
}

/** The sweep's steps: agent counts from..to by step. */
export interface SweepRange {
  from: number;
  to: number;
  step: number;
}

/**
 * The sweep's agent counts when none are given (the server's command, the editor's prompt): a
 * quarter of the project pool up to twice it.
 */
export function defaultSweepRange(config: {
  targetAgents: number;
  pools: readonly { name: string; poolSize?: number }[];
}): SweepRange {
  const project = config.pools.find((p) => p.name === 'project')?.poolSize ?? config.targetAgents;
  const step = Math.max(1, Math.round(project / 4));
  return { from: step, to: project * 2, step };
}

/** The capacity sweep: one capacity test per agent count, the safety check on each. */
export interface SweepReport {
  runId: string;
  startedAt: string;
  options: Omit<LoadTestOptions, 'shape' | 'agents'>;
  range: SweepRange;
  steps: {
    agents: number;
    successRate: number;
    succeeded: number;
    failed: number;
    p95Ms: number;
    verdict: Verdict;
    runId: string;
  }[];
  /** Sum of the tested pools' sizes. */
  poolSize: number;
  pools: string;
  /** What the tested pools' server lets their role use (the capacity plan's budget). */
  usableSlots?: number;
  /** Why it stopped before the last step (refused by the safety check, cancelled, a setup error). */
  stoppedAt?: { agents: number; reason: string };
  verdict: Verdict;
}

/** The dashboard's host (extension) to its webview. */
export type DashboardHostMessage =
  | { type: 'model'; model: DashboardModel }
  /** The status poll's latest reading, while the dashboard is visible. */
  | { type: 'live'; readings: LiveReading[]; readAt: number };

/** The webview to its host. */
export type DashboardViewMessage =
  | { type: 'ready' }
  /** Drawn: how many bars and charts, so the host (and its tests) know the picture is up. */
  | { type: 'rendered'; bars: number; charts: number; live: number }
  | { type: 'command'; command: 'refresh' | 'capacityTest' | 'sweep' };
