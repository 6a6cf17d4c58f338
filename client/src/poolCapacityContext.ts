import * as path from 'node:path';
import * as vscode from 'vscode';
import {
  LanguageClient,
  type LanguageClientOptions,
  LogMessageNotification,
  type ServerOptions,
  TransportKind,
} from 'vscode-languageclient/node';
import {
  type InitializationOptions,
  StatusNotification,
  WorkspaceTrustedNotification,
} from '../../shared/protocol';
import { COMMANDS, registerCommands } from './commands';
import { CapacityDashboard, historyDirOf } from './dashboardPanel';
import { OutputPanel } from './outputPanel';
import { createServerLog, logServerMessage } from './serverLog';
import { StatusBar } from './statusBar';

/** What activate() returns: read-only views the extension tests use. */
export interface PoolCapacityApi {
  outputText(): string;
  statusText(): string;
  statusTooltip(): string;
  /** Resolves when the language server is up (immediately if it failed to start). */
  ready: Promise<void>;
  /** The capacity dashboard (the webview's messages, for the extension tests). */
  dashboard: CapacityDashboard;
}

const CONFIG_GLOB = '**/.claude-flow/config.{yaml,yml}';

/** Owns the extension's lifetime: the language client, the commands, the status bar, the output. */
export class PoolCapacityContext {
  private client?: LanguageClient;
  private readonly output = new OutputPanel();
  /** The server's log, with levels; the results stay in `output`. */
  private readonly serverLog = createServerLog();
  private readonly statusBar = new StatusBar();
  private readonly dashboard: CapacityDashboard;

  constructor(private readonly extension: vscode.ExtensionContext) {
    this.dashboard = new CapacityDashboard(extension.extensionUri, {
      client: () => this.client,
      commands: { capacityTest: COMMANDS.runCapacityTest, sweep: COMMANDS.runCapacitySweep },
    });
  }

  async start(): Promise<PoolCapacityApi> {
    const subscriptions = this.extension.subscriptions;
    subscriptions.push(
      this.output,
      this.serverLog,
      this.statusBar,
      this.dashboard,
      ...registerCommands({
        client: () => this.client,
        output: this.output,
        log: this.serverLog,
        isTrusted: () => vscode.workspace.isTrusted,
        dashboard: this.dashboard,
      }),
      vscode.workspace.onDidGrantWorkspaceTrust(() => {
        void this.client?.sendNotification(WorkspaceTrustedNotification.type, {});
      }),
    );
    if (!vscode.workspace.isTrusted) this.statusBar.showUntrusted();
    const ready = this.startClient().catch((error: unknown) => {
      const message = `the language server failed to start: ${error instanceof Error ? error.message : String(error)}`;
      this.serverLog.error(message);
      if (error instanceof Error && error.stack) this.serverLog.debug(error.stack);
      void vscode.window.showErrorMessage(`Pool Capacity: ${message}`, 'Show Log').then((choice) => {
        if (choice) this.serverLog.show(true);
      });
    });
    // `npm start`'s demo (scripts/start.ts) opens the config; show its findings beside it.
    if (process.env.POOL_CAPACITY_DEMO_SHOW_PROBLEMS === '1')
      void vscode.commands.executeCommand('workbench.actions.view.problems', { preserveFocus: true });
    return {
      outputText: () => this.output.text(),
      statusText: () => this.statusBar.text(),
      statusTooltip: () => this.statusBar.tooltipText(),
      ready,
      dashboard: this.dashboard,
    };
  }

  private async startClient(): Promise<void> {
    const module = this.extension.asAbsolutePath(path.join('dist', 'server.js'));
    const serverOptions: ServerOptions = {
      run: { module, transport: TransportKind.ipc },
      debug: { module, transport: TransportKind.ipc, options: { execArgv: ['--nolazy', '--inspect=6009'] } },
    };
    // `trusted` always said explicitly: the server connects to nothing unless told `true`. The
    // status bar is this client's, so it asks for the status notifications.
    const initializationOptions: InitializationOptions = {
      trusted: vscode.workspace.isTrusted,
      statusNotifications: true,
      // The server keeps every run's report there (capped) and builds the dashboard's trend from it.
      historyDir: historyDirOf(this.extension),
    };
    const clientOptions: LanguageClientOptions = {
      documentSelector: [{ scheme: 'file', pattern: CONFIG_GLOB }],
      // No `synchronize.fileEvents`: the server registers its watched files (configs, `.env`,
      // pgpass) itself, as it does with every client that allows it; both would validate twice.
      initializationOptions,
      // Its own lines and the protocol trace (`poolCapacity.trace.server`) go here too.
      outputChannel: this.serverLog,
    };
    // The id 'poolCapacity' makes the client read the `poolCapacity.trace.server` setting.
    this.client = new LanguageClient('poolCapacity', 'Pool Capacity', serverOptions, clientOptions);
    this.extension.subscriptions.push(
      this.client.onNotification(StatusNotification.type, (status) => {
        this.statusBar.update(status);
        this.dashboard.updateStatus(status);
      }),
      // Registered before start, so it replaces the client's built-in handler, which drops the level.
      this.client.onNotification(LogMessageNotification.type, (params) =>
        logServerMessage(this.serverLog, params),
      ),
    );
    await this.client.start();
  }

  async stop(): Promise<void> {
    await this.client?.stop();
    this.client = undefined;
  }
}
