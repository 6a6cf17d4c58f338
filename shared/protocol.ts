/**
 * Every custom message between the client and the language server. Method names appear nowhere
 * else. Standard LSP traffic (diagnostics, hover, code actions) is not listed here.
 */
import { NotificationType, RequestType } from 'vscode-languageserver-protocol';
import type { CapacityView, DashboardModel, SweepRange, SweepReport } from './dashboard';
import type { LoadTestOptions, LoadTestReport } from './loadTest';

/** What the client tells the server at start (`initializationOptions`). */
export interface InitializationOptions {
  /**
   * Only an explicit `true` lets the server connect to a database (probes, load tests). False in a
   * restricted VS Code workspace; absent (another editor that was not told) counts as false, because
   * outside VS Code nothing else stands between a cloned repository's config and its hosts.
   */
  trusted: boolean;
  /**
   * Ask for StatusNotification (the VS Code status bar): the server then polls every configured
   * server over a kept-open connection. Off unless asked, so other editors cost the servers nothing.
   */
  statusNotifications?: boolean;
  /**
   * The `poolCapacity` settings, for clients that neither answer `workspace/configuration` nor have
   * pushed them yet (`workspace/didChangeConfiguration` with `{ poolCapacity: {...} }` replaces them).
   */
  settings?: Record<string, unknown>;
  /**
   * Where the server keeps the run history (one JSON file per load-test report, the last 200):
   * the VS Code client passes a folder in its workspace storage. Absent, runs are not kept.
   */
  historyDir?: string;
}

/**
 * The `workspace/executeCommand` commands (listed in `executeCommandProvider`), so any LSP client
 * can run what the VS Code client offers in its palette. Distinct from the VS Code client's own
 * `poolCapacity.*` command ids: vscode-languageclient registers every listed command in VS Code,
 * which would clash with the contributed ones of the same name.
 */
export const ServerCommands = {
  runCapacityTest: 'pool-capacity.runCapacityTest',
  runBurstTest: 'pool-capacity.runBurstTest',
  runSustainedTest: 'pool-capacity.runSustainedTest',
  runCapacitySweep: 'pool-capacity.runCapacitySweep',
  showCapacityReport: 'pool-capacity.showCapacityReport',
  refreshServerInfo: 'pool-capacity.refreshServerInfo',
} as const;

export type ServerCommand = (typeof ServerCommands)[keyof typeof ServerCommands];

/**
 * The one optional argument of every ServerCommands command: a config's uri (a string), or this
 * object. Without a config uri the workspace's only config is used.
 */
export interface ServerCommandArguments {
  configUri?: string;
  /** Load tests: concurrent agents (default: the config's target). */
  agents?: number;
  /** Load tests and sweeps: how long each agent holds its connection, in ms. */
  durationMs?: number;
  /** Run although the safety check refused (the refusal's message says why). */
  force?: boolean;
  /** Sweep: agent counts from..to by step (default: a quarter of the project pool up to twice it). */
  range?: SweepRange;
}

/** What a ServerCommands command answers (its result is also shown with `window/showMessage`). */
export interface ServerCommandResult {
  outcome: 'done' | 'refused' | 'error';
  /** The line shown to the user. */
  message: string;
  /** The written report (a load test's table, the capacity report), also opened with `window/showDocument`. */
  reportUri?: string;
  /** PASS / WARN / FAIL of a load test or sweep. */
  verdict?: string;
}

/** The parameters of a message that carries none (`{}`). */
export type NoParams = Record<string, never>;

/** Client → server: the workspace was trusted (it never goes the other way without a restart). */
export namespace WorkspaceTrustedNotification {
  export const method = 'poolCapacity/workspaceTrusted';
  export const type = new NotificationType<NoParams>(method);
}

export interface RefreshServerInfoResult {
  /** How many config files were validated again. */
  configs: number;
}

/** Client → server: forget cached server facts, probe again and revalidate every config. */
export namespace RefreshServerInfoRequest {
  export const method = 'poolCapacity/refreshServerInfo';
  export const type = new RequestType<NoParams, RefreshServerInfoResult, void>(method);
}

/** A config file the server knows, for the client's pickers. */
export interface ConfigSummary {
  uri: string;
  pools: { name: string; poolSize?: number; server: string }[];
  /**
   * The agents the config's pools must serve (setting, else `swarm.maxAgents`, else the default),
   * decided by the server: the client offers it as the load test's agent count.
   */
  targetAgents: number;
}

/** Client → server: the config files found in the workspace. */
export namespace ListConfigsRequest {
  export const method = 'poolCapacity/listConfigs';
  export const type = new RequestType<NoParams, ConfigSummary[], void>(method);
}

/** What the client chooses of a load test: omitted fields take `loadTestDefaults`, `agents` the config's target. */
export type RunLoadTestOptions = Partial<LoadTestOptions> & Pick<LoadTestOptions, 'shape'>;

export interface RunLoadTestParams {
  configUri: string;
  options: RunLoadTestOptions;
  /** Ties progress notifications to this request. */
  progressId: string;
}

export type RunLoadTestResult =
  | { outcome: 'done'; report: LoadTestReport; table: string }
  /** The safety check refused; `message` says why. The client offers the way ahead (its "Run anyway", i.e. force). */
  | { outcome: 'refused'; message: string }
  | { outcome: 'error'; message: string };

/** Client → server: run a load test. Cancel the request to stop it; it closes what it opened. */
export namespace RunLoadTestRequest {
  export const method = 'poolCapacity/runLoadTest';
  export const type = new RequestType<RunLoadTestParams, RunLoadTestResult, void>(method);
}

export interface LoadTestProgressParams {
  /** The `progressId` of the RunLoadTest request this belongs to. */
  progressId: string;
  done: number;
  total: number;
  message: string;
}

/** Server → client: progress of a running load test. */
export namespace LoadTestProgressNotification {
  export const method = 'poolCapacity/loadTestProgress';
  export const type = new NotificationType<LoadTestProgressParams>(method);
}

export interface CapacityReportParams {
  configUri: string;
}

export interface CapacityReportResult {
  /** The report as plain text, for the results channel. */
  text: string;
}

/** Client → server: the capacity report of a config as text. */
export namespace CapacityReportRequest {
  export const method = 'poolCapacity/capacityReport';
  export const type = new RequestType<CapacityReportParams, CapacityReportResult, void>(method);
}

/**
 * How a server stands, decided by the language server from the same budget as the diagnostics
 * (live counts, role rules included): `exceeds` is the error colour, `low-headroom` and
 * `unreachable` the warning colour. The client renders it and decides nothing.
 */
export type StatusLevel = 'ok' | 'low-headroom' | 'exceeds' | 'unreachable';

/** One server's live connection count, as the status bar shows it. */
export interface ServerStatus {
  serverKey: string;
  state: 'ok' | 'unreachable';
  /** Client backends on the server (all roles, load tests included), the status and probe connections excluded. */
  connections?: number;
  maxConnections?: number;
  /** Slots the pools' least privileged role may use. */
  usable?: number;
  level: StatusLevel;
  /** The budget's figures in one line, e.g. "project 40 + shared 3 = 43 > 16 free on 127.0.0.1:5432". */
  summary?: string;
  perDatabase?: Record<string, number>;
  pools: { name: string; poolSize?: number; configUri: string }[];
  /** Why it is unreachable (password-free). */
  error?: string;
  headroomThreshold: number;
  /** A Patroni cluster's pool: the leader the REST API named at this poll (its count is the leader's). */
  leader?: string;
  /** A Patroni cluster's pool: its REST API addresses, e.g. "127.0.0.1:8008, 127.0.0.1:8009". */
  cluster?: string;
}

export interface StatusParams {
  /** off: nothing configured or polling disabled; untrusted: restricted workspace. */
  state: 'off' | 'untrusted' | 'polling';
  servers: ServerStatus[];
  /** The worst level of the servers (absent when nothing is polled). */
  level?: StatusLevel;
  /** The server the item shows: the one with the worst level, the fullest among those. */
  focus?: string;
  /** One line on the last load test, if any. */
  lastTest?: string;
  /** Epoch ms of this reading. */
  readAt: number;
}

/** Server → client: the live connection counts of the configured servers (drives the status bar). */
export namespace StatusNotification {
  export const method = 'poolCapacity/status';
  export const type = new NotificationType<StatusParams>(method);
}

export interface CapacityViewResult {
  /** The capacity bars of the config's plan (the same budgets as the diagnostics). */
  view?: CapacityView;
  /** Why there is no view (untrusted workspace, unreadable config). */
  message?: string;
}

/** Client → server: the capacity dashboard's bars for a config (servers read afresh). */
export namespace CapacityViewRequest {
  export const method = 'poolCapacity/capacityView';
  export const type = new RequestType<CapacityReportParams, CapacityViewResult, void>(method);
}

export interface RunSweepParams {
  configUri: string;
  /** The capacity test's options; `shape` and `agents` are the sweep's. */
  options: Omit<RunLoadTestOptions, 'shape' | 'agents'>;
  range: SweepRange;
  progressId: string;
}

export type RunSweepResult =
  | { outcome: 'done'; sweep: SweepReport; reports: LoadTestReport[]; table: string }
  /** The safety check refused the first step; later refusals stop the sweep and are in `sweep.stoppedAt`. */
  | { outcome: 'refused'; message: string }
  | { outcome: 'error'; message: string };

/**
 * Client → server: a capacity sweep (the capacity test at each agent count of `range`, the safety
 * check on each). Progress as LoadTestProgress; cancel the request to stop it.
 */
export namespace RunSweepRequest {
  export const method = 'poolCapacity/runSweep';
  export const type = new RequestType<RunSweepParams, RunSweepResult, void>(method);
}

export interface DashboardParams {
  configUri: string;
  /** How the client names the config (its path in the workspace); by default the file's tail. */
  configLabel?: string;
  /**
   * Read the servers afresh (opening the dashboard, its Refresh button). False after a run: the
   * bars last read for this config are reused, or read when there are none.
   */
  readServers?: boolean;
}

/**
 * Client → server: the whole capacity dashboard of a config, built by the server: the capacity bars
 * (the same budgets as the diagnostics), the charts of this session's last runs of the config and
 * the trend over the run history it keeps in `historyDir`. The client posts it to its webview as is.
 */
export namespace DashboardRequest {
  export const method = 'poolCapacity/dashboard';
  export const type = new RequestType<DashboardParams, DashboardModel, void>(method);
}
