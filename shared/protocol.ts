/**
 * Every custom message between the client and the language server. Method names appear nowhere
 * else. Standard LSP traffic (diagnostics, hover, code actions) is not listed here.
 */
import { NotificationType, RequestType } from 'vscode-languageserver-protocol';
import type { LoadTestOptions, LoadTestReport } from './loadTest';

/** What the client tells the server at start (`initializationOptions`). */
export interface InitializationOptions {
  /** False in a restricted workspace: the server connects to no database until told otherwise. */
  trusted: boolean;
}

/** Client → server: the workspace was trusted (it never goes the other way without a restart). */
export namespace WorkspaceTrustedNotification {
  export const method = 'poolCapacity/workspaceTrusted';
  export const type = new NotificationType<Record<string, never>>(method);
}

/** Client → server: forget cached server facts, probe again and revalidate every config. */
export namespace RefreshServerInfoRequest {
  export const method = 'poolCapacity/refreshServerInfo';
  export const type = new RequestType<Record<string, never>, { configs: number }, void>(method);
}

/** A config file the server knows, for the client's pickers. */
export interface ConfigSummary {
  uri: string;
  pools: { name: string; poolSize?: number; server: string }[];
  targetAgents: number;
}

/** Client → server: the config files found in the workspace. */
export namespace ListConfigsRequest {
  export const method = 'poolCapacity/listConfigs';
  export const type = new RequestType<Record<string, never>, ConfigSummary[], void>(method);
}

export interface RunLoadTestParams {
  configUri: string;
  /** Omitted fields take `loadTestDefaults`; `agents` defaults to the config's target. */
  options: Partial<LoadTestOptions> & Pick<LoadTestOptions, 'shape'>;
  /** Ties progress notifications to this request. */
  progressId: string;
}

export type RunLoadTestResult =
  | { outcome: 'done'; report: LoadTestReport; table: string }
  /** The safety check refused; `message` says why and how to go ahead (confirm, i.e. force). */
  | { outcome: 'refused'; message: string }
  | { outcome: 'error'; message: string };

/** Client → server: run a load test. Cancel the request to stop it; it closes what it opened. */
export namespace RunLoadTestRequest {
  export const method = 'poolCapacity/runLoadTest';
  export const type = new RequestType<RunLoadTestParams, RunLoadTestResult, void>(method);
}

/** Server → client: progress of a running load test. */
export namespace LoadTestProgressNotification {
  export const method = 'poolCapacity/loadTestProgress';
  export const type = new NotificationType<{
    progressId: string;
    done: number;
    total: number;
    message: string;
  }>(method);
}

/** Client → server: the capacity report of a config as text. */
export namespace CapacityReportRequest {
  export const method = 'poolCapacity/capacityReport';
  export const type = new RequestType<{ configUri: string }, { text: string }, void>(method);
}

/** One server's live connection count, as the status bar shows it. */
export interface ServerStatus {
  serverKey: string;
  state: 'ok' | 'unreachable';
  /** Client backends on the server (all roles, load tests included), the status and probe connections excluded. */
  connections?: number;
  maxConnections?: number;
  /** Slots a non-superuser may use. */
  usable?: number;
  perDatabase?: Record<string, number>;
  pools: { name: string; poolSize?: number; configUri: string }[];
  /** Why it is unreachable (password-free). */
  error?: string;
  headroomThreshold: number;
}

export interface StatusParams {
  /** off: nothing configured or polling disabled; untrusted: restricted workspace. */
  state: 'off' | 'untrusted' | 'polling';
  servers: ServerStatus[];
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
