import * as path from 'node:path';
import * as vscode from 'vscode';
import {
  LanguageClient,
  type LanguageClientOptions,
  type ServerOptions,
  TransportKind,
} from 'vscode-languageclient/node';
import {
  type InitializationOptions,
  StatusNotification,
  WorkspaceTrustedNotification,
} from '../../shared/protocol';
import { registerCommands } from './commands';
import { OutputPanel } from './outputPanel';
import { StatusBar } from './statusBar';

/** What activate() returns: read-only views the extension tests use. */
export interface PoolCapacityApi {
  outputText(): string;
  statusText(): string;
  statusTooltip(): string;
  /** Resolves when the language server is up (immediately if it failed to start). */
  ready: Promise<void>;
}

const CONFIG_GLOB = '**/.claude-flow/config.{yaml,yml}';

/** Owns the extension's lifetime: the language client, the commands, the status bar, the output. */
export class PoolCapacityContext {
  private client?: LanguageClient;
  private readonly output = new OutputPanel();
  private readonly statusBar = new StatusBar();

  constructor(private readonly extension: vscode.ExtensionContext) {}

  async start(): Promise<PoolCapacityApi> {
    const subscriptions = this.extension.subscriptions;
    subscriptions.push(
      this.output,
      this.statusBar,
      ...registerCommands({
        client: () => this.client,
        output: this.output,
        isTrusted: () => vscode.workspace.isTrusted,
      }),
      vscode.workspace.onDidGrantWorkspaceTrust(() => {
        void this.client?.sendNotification(WorkspaceTrustedNotification.type, {});
      }),
    );
    if (!vscode.workspace.isTrusted) this.statusBar.showUntrusted();
    const ready = this.startClient().catch((error: unknown) => {
      this.output.append(`Pool Capacity: the language server failed to start: ${String(error)}`);
    });
    return {
      outputText: () => this.output.text(),
      statusText: () => this.statusBar.text(),
      statusTooltip: () => this.statusBar.tooltipText(),
      ready,
    };
  }

  private async startClient(): Promise<void> {
    const module = this.extension.asAbsolutePath(path.join('dist', 'server.js'));
    const serverOptions: ServerOptions = {
      run: { module, transport: TransportKind.ipc },
      debug: { module, transport: TransportKind.ipc, options: { execArgv: ['--nolazy', '--inspect=6009'] } },
    };
    const initializationOptions: InitializationOptions = { trusted: vscode.workspace.isTrusted };
    const clientOptions: LanguageClientOptions = {
      documentSelector: [{ scheme: 'file', pattern: CONFIG_GLOB }],
      synchronize: {
        fileEvents: [
          vscode.workspace.createFileSystemWatcher(CONFIG_GLOB),
          vscode.workspace.createFileSystemWatcher('**/.env'),
        ],
      },
      initializationOptions,
      outputChannelName: 'Pool Capacity Language Server',
    };
    this.client = new LanguageClient('poolCapacity', 'Pool Capacity', serverOptions, clientOptions);
    this.extension.subscriptions.push(
      this.client.onNotification(StatusNotification.type, (status) => this.statusBar.update(status)),
    );
    await this.client.start();
  }

  async stop(): Promise<void> {
    await this.client?.stop();
    this.client = undefined;
  }
}
