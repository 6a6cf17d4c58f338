import { randomBytes } from 'node:crypto';
import * as path from 'node:path';
import * as vscode from 'vscode';
import type { LanguageClient } from 'vscode-languageclient/node';
import type {
  DashboardHostMessage,
  DashboardModel,
  DashboardViewMessage,
  LiveReading,
} from '../../shared/dashboard';
import { type ConfigSummary, DashboardRequest, type StatusParams } from '../../shared/protocol';

/** What the webview last said it drew (the extension tests wait on it). */
export type DashboardRendered = Extract<DashboardViewMessage, { type: 'rendered' }>;

export interface DashboardDeps {
  client: () => LanguageClient | undefined;
  /** The dashboard's buttons run these commands. */
  commands: { capacityTest: string; sweep: string };
}

/**
 * The capacity dashboard: one webview panel showing the model the language server builds
 * (DashboardRequest: the capacity bars of a config, the charts of its runs, the trend over the run
 * history the server keeps). This side only asks, posts the model to the webview, and passes on the
 * status poll's "in use now" while the panel is visible; hidden, it receives nothing (the webview is
 * not kept).
 */
export class CapacityDashboard implements vscode.Disposable {
  private panel?: vscode.WebviewPanel;
  private config?: ConfigSummary;
  private current?: DashboardModel;
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

  /** Opens (or reveals) the dashboard on a config and has the server read its servers afresh. */
  async open(config: ConfigSummary, preserveFocus = false): Promise<void> {
    this.config = config;
    this.ensurePanel(preserveFocus);
    await this.load(true);
  }

  /**
   * After a run of `config` (which the server has already charted and saved to the history): shows
   * the dashboard with it, reusing the bars the server last read.
   */
  async showRun(config: ConfigSummary): Promise<void> {
    this.config = config;
    this.ensurePanel(true);
    await this.load(false);
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

  /** The model the webview was last given (undefined before the first answer). */
  model(): DashboardModel | undefined {
    return this.current;
  }

  private label(): string {
    return this.config ? vscode.workspace.asRelativePath(vscode.Uri.parse(this.config.uri)) : 'no config';
  }

  /** Asks the language server for the whole model and posts it. */
  private async load(readServers: boolean): Promise<void> {
    const client = this.deps.client();
    if (!client || !this.config) {
      this.current = notice(this.label(), 'The language server is not running.');
    } else {
      try {
        this.current = await client.sendRequest(DashboardRequest.type, {
          configUri: this.config.uri,
          configLabel: this.label(),
          readServers,
        });
      } catch (error) {
        this.current = notice(
          this.label(),
          `The servers could not be read: ${error instanceof Error ? error.message : String(error)}`,
        );
      }
    }
    this.postModel();
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
      if (message.command === 'refresh') void this.load(true);
      else if (message.command === 'capacityTest')
        void vscode.commands.executeCommand(this.deps.commands.capacityTest);
      else if (message.command === 'sweep') void vscode.commands.executeCommand(this.deps.commands.sweep);
    }
  }

  private post(message: DashboardHostMessage): void {
    void this.panel?.webview.postMessage(message);
  }

  private postModel(): void {
    if (!this.panel) return;
    // Before the server's first answer the webview shows what is being read.
    this.post({ type: 'model', model: this.current ?? notice(this.label(), 'Reading the servers…') });
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

/** A model with a message instead of the bars (no server to ask, or its request failed). */
function notice(label: string, message: string): DashboardModel {
  return {
    title: `Pool Capacity — ${label}`,
    generatedAt: new Date().toISOString(),
    capacityMessage: message,
    runs: [],
    trends: [],
  };
}
