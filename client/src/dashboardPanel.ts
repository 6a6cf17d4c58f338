import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import * as vscode from 'vscode';
import type { LanguageClient } from 'vscode-languageclient/node';
import { dashboardModel } from '../../server/src/core/dashboard/dashboardModel';
import { HISTORY_CAP, loadHistory, saveRun } from '../../server/src/core/loadtest/runHistory';
import type {
  CapacityView,
  DashboardHostMessage,
  DashboardModel,
  DashboardViewMessage,
  HistoryEntry,
  LiveReading,
  SweepReport,
} from '../../shared/dashboard';
import type { LoadTestReport } from '../../shared/loadTest';
import { CapacityViewRequest, type ConfigSummary, type StatusParams } from '../../shared/protocol';

/** What the webview last said it drew (the extension tests wait on it). */
export type DashboardRendered = Extract<DashboardViewMessage, { type: 'rendered' }>;

/** Runs the dashboard shows below the bars, newest first; older ones live on in the history's trend. */
const RUNS_SHOWN = 5;

export interface DashboardDeps {
  client: () => LanguageClient | undefined;
  /** Where every run's report is kept (the extension's workspace storage), capped at HISTORY_CAP. */
  historyDir?: string;
  /** The dashboard's buttons run these commands. */
  commands: { capacityTest: string; sweep: string };
}

/**
 * The capacity dashboard: one webview panel with the capacity bars of a config, the charts of the
 * runs of this session and the trend over the saved history. The bars' "in use now" follows the
 * status poll while the panel is visible; hidden, it receives nothing (the webview is not kept).
 */
export class CapacityDashboard implements vscode.Disposable {
  private panel?: vscode.WebviewPanel;
  private config?: ConfigSummary;
  private capacity?: CapacityView;
  private capacityMessage?: string;
  private readonly runs: (LoadTestReport | SweepReport)[] = [];
  private history: HistoryEntry[] = [];
  private live?: { readings: LiveReading[]; readAt: number };
  private readonly renderedEmitter = new vscode.EventEmitter<DashboardRendered>();
  /** Fires each time the webview reports what it drew. */
  readonly onDidRender = this.renderedEmitter.event;
  lastRendered?: DashboardRendered;
  /** Live readings posted to the webview (counted for the tests: none while hidden). */
  livePosted = 0;
  /** Status readings received from the language server, visible or not. */
  statusSeen = 0;

  constructor(
    private readonly extensionUri: vscode.Uri,
    private readonly deps: DashboardDeps,
  ) {}

  get visible(): boolean {
    return this.panel?.visible ?? false;
  }

  get viewColumn(): vscode.ViewColumn | undefined {
    return this.panel?.viewColumn;
  }

  /** Opens (or reveals) the dashboard on a config and reads its servers afresh. */
  async open(config: ConfigSummary, preserveFocus = false): Promise<void> {
    const changed = this.config?.uri !== config.uri;
    this.config = config;
    if (changed) this.runs.length = 0;
    this.ensurePanel(preserveFocus);
    await Promise.all([this.loadCapacity(), this.loadHistory()]);
    this.postModel();
  }

  /** A finished run (or sweep with its steps): kept in the history, charted on the dashboard. */
  async addRun(
    config: ConfigSummary,
    run: LoadTestReport | SweepReport,
    reports: readonly LoadTestReport[],
  ): Promise<void> {
    if (this.deps.historyDir) {
      for (const report of reports) await saveRun(fs, this.deps.historyDir, report, HISTORY_CAP);
    }
    if (this.config?.uri !== config.uri) {
      this.config = config;
      this.runs.length = 0;
      this.capacity = undefined;
    }
    this.runs.unshift(run);
    this.runs.length = Math.min(this.runs.length, RUNS_SHOWN);
    this.ensurePanel(true);
    await Promise.all([this.capacity ? undefined : this.loadCapacity(), this.loadHistory()]);
    this.postModel();
  }

  /** The status poll's reading; passed on only while the dashboard is visible. */
  updateStatus(status: StatusParams): void {
    this.statusSeen++;
    this.live = {
      readAt: status.readAt,
      readings: status.servers.map((s) => ({
        serverKey: s.serverKey,
        ...(s.connections !== undefined ? { inUseNow: s.connections } : {}),
        ...(s.maxConnections !== undefined ? { maxConnections: s.maxConnections } : {}),
      })),
    };
    if (this.visible) this.postLive();
  }

  model(): DashboardModel {
    const label = this.config
      ? vscode.workspace.asRelativePath(vscode.Uri.parse(this.config.uri))
      : 'no config';
    return dashboardModel({
      configLabel: label,
      ...(this.capacity ? { capacity: { ...this.capacity, configLabel: label } } : {}),
      planMessage: this.capacity ? undefined : (this.capacityMessage ?? 'Reading the servers…'),
      runs: this.runs,
      history: this.history,
    });
  }

  private ensurePanel(preserveFocus: boolean): void {
    if (this.panel) {
      this.panel.reveal(undefined, preserveFocus);
      return;
    }
    const dist = vscode.Uri.joinPath(this.extensionUri, 'dist');
    const panel = vscode.window.createWebviewPanel(
      'poolCapacity.dashboard',
      'Pool Capacity Dashboard',
      { viewColumn: vscode.ViewColumn.Beside, preserveFocus },
      { enableScripts: true, localResourceRoots: [dist] },
    );
    this.panel = panel;
    panel.webview.html = this.html(panel.webview, dist);
    panel.webview.onDidReceiveMessage((message: DashboardViewMessage) => this.receive(message));
    // Shown again after being hidden, the webview starts afresh and asks for the model with 'ready'.
    panel.onDidDispose(() => {
      this.panel = undefined;
      this.lastRendered = undefined;
    });
  }

  private receive(message: DashboardViewMessage): void {
    if (message.type === 'ready') {
      this.postModel();
    } else if (message.type === 'rendered') {
      this.lastRendered = message;
      this.renderedEmitter.fire(message);
    } else if (message.type === 'command') {
      if (message.command === 'refresh') void this.refresh();
      else if (message.command === 'capacityTest')
        void vscode.commands.executeCommand(this.deps.commands.capacityTest);
      else if (message.command === 'sweep') void vscode.commands.executeCommand(this.deps.commands.sweep);
    }
  }

  private async refresh(): Promise<void> {
    await Promise.all([this.loadCapacity(), this.loadHistory()]);
    this.postModel();
  }

  private async loadCapacity(): Promise<void> {
    const client = this.deps.client();
    if (!client || !this.config) {
      this.capacityMessage = 'The language server is not running.';
      return;
    }
    try {
      const result = await client.sendRequest(CapacityViewRequest.type, { configUri: this.config.uri });
      this.capacity = result.view;
      this.capacityMessage = result.message;
    } catch (error) {
      this.capacity = undefined;
      this.capacityMessage = `The servers could not be read: ${error instanceof Error ? error.message : String(error)}`;
    }
  }

  private async loadHistory(): Promise<void> {
    this.history = this.deps.historyDir ? await loadHistory(fs, this.deps.historyDir) : [];
  }

  private post(message: DashboardHostMessage): void {
    void this.panel?.webview.postMessage(message);
  }

  private postModel(): void {
    if (!this.panel) return;
    this.post({ type: 'model', model: this.model() });
    if (this.visible) this.postLive();
  }

  private postLive(): void {
    if (!this.live || !this.panel) return;
    this.livePosted++;
    this.post({ type: 'live', ...this.live });
  }

  private html(webview: vscode.Webview, dist: vscode.Uri): string {
    const nonce = randomBytes(18).toString('base64');
    const script = webview.asWebviewUri(vscode.Uri.joinPath(dist, 'dashboard.js'));
    const style = webview.asWebviewUri(vscode.Uri.joinPath(dist, 'dashboard.css'));
    // No 'unsafe-inline', no 'unsafe-eval': the bundle sets styles through the CSSOM only.
    const csp = [
      "default-src 'none'",
      `style-src ${webview.cspSource}`,
      `script-src 'nonce-${nonce}'`,
      `img-src ${webview.cspSource} data:`,
      `font-src ${webview.cspSource}`,
    ].join('; ');
    return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="${csp}">
<meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="stylesheet" href="${style}">
<title>Pool Capacity Dashboard</title>
</head>
<body>
<main id="app"><p>Reading the servers…</p></main>
<script nonce="${nonce}" src="${script}"></script>
</body>
</html>`;
  }

  dispose(): void {
    this.panel?.dispose();
    this.renderedEmitter.dispose();
  }
}

/** The history directory inside the extension's storage for this workspace. */
export function historyDirOf(context: vscode.ExtensionContext): string {
  return path.join((context.storageUri ?? context.globalStorageUri).fsPath, 'runs');
}
