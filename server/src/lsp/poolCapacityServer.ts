import {
  type CancellationToken,
  type ClientCapabilities,
  CodeActionKind,
  type CodeActionParams,
  type Connection,
  DidChangeConfigurationNotification,
  type DidChangeConfigurationParams,
  type DidChangeWatchedFilesParams,
  ExecuteCommandRequest,
  type HoverParams,
  type InitializeParams,
  type InitializeResult,
  MessageType,
  ShowMessageNotification,
  TextDocumentSyncKind,
} from 'vscode-languageserver';
import type { DashboardModel } from '../../../shared/dashboard';
import {
  type CapacityReportParams,
  CapacityReportRequest,
  type CapacityReportResult,
  CapacityViewRequest,
  type CapacityViewResult,
  type DashboardParams,
  DashboardRequest,
  type InitializationOptions,
  ListConfigsRequest,
  RefreshServerInfoRequest,
  type RefreshServerInfoResult,
  type RunLoadTestParams,
  RunLoadTestRequest,
  type RunLoadTestResult,
  type RunSweepParams,
  RunSweepRequest,
  type RunSweepResult,
  WorkspaceTrustedNotification,
} from '../../../shared/protocol';
import { ConfigRegistry } from './configRegistry';
import { findConfigFiles, pathToUri, uriToPath } from './configWorkspace';
import { configHover, quickFixes } from './editorFeatures';
import { clientWatchesFiles, FolderWatchers, registerWatchedFiles } from './fileWatching';
import { safeNotification, safeRequest } from './handlerSafety';
import { LoadTestSession } from './loadTestSession';
import { ServerCommandRunner } from './serverCommands';
import { StatusLoop } from './statusLoop';

const UNTRUSTED_NO_CONNECT = 'This workspace is not trusted: Pool Capacity connects to no database.';
/** Said once to a client that did not say whether the workspace is trusted (any editor but VS Code). */
export const HOW_TO_TRUST =
  'Pool Capacity checks this config without connecting to any database: the editor did not declare the workspace trusted. To read the servers and run load tests, start the language server with initializationOptions { "trusted": true } (see the README, "Other editors").';

/** The `poolCapacity` settings in a didChangeConfiguration push, if it carries them. */
function pushedSettings(settings: unknown): unknown {
  if (!settings || typeof settings !== 'object') return undefined;
  return (settings as Record<string, unknown>).poolCapacity;
}

/**
 * The language server's wiring: thin handlers over the config registry (configRegistry.ts), the
 * status loop (statusLoop.ts) and the load-test session, which call the plain modules in
 * capacity/, config/ and loadtest/ that the CLI and the tests call too.
 */
export class PoolCapacityServer {
  private readonly registry: ConfigRegistry;
  private readonly status: StatusLoop;
  private readonly loadTests: LoadTestSession;
  private readonly commands: ServerCommandRunner;
  /** The server's own file watchers, for clients that cannot watch files for it. */
  private readonly folderWatchers: FolderWatchers;
  private capabilities: ClientCapabilities = {};
  /** The client did not say `trusted` either way: tell the user once how to opt in. */
  private trustUnsaid = false;
  private workspaceFolders: string[] = [];

  constructor(private readonly connection: Connection) {
    this.registry = new ConfigRegistry(connection);
    this.status = new StatusLoop(connection, this.registry);
    this.loadTests = new LoadTestSession(connection, this.registry, this.status);
    this.commands = new ServerCommandRunner(
      connection,
      this.registry,
      this.loadTests,
      () => this.capabilities,
    );
    this.folderWatchers = new FolderWatchers(
      (changes) => this.registry.filesChanged(changes),
      (message) => connection.console.info(message),
    );
  }

  listen(): void {
    const c = this.connection;
    // initialize only reads its parameters; should it throw, the client reports the failed start.
    c.onInitialize((params) => this.initialize(params));
    c.onInitialized(this.notification('initialized', () => this.initialized()));
    c.onShutdown((token) => this.request('shutdown', () => this.dispose())(undefined, token));
    this.listenToEditor();
    this.listenToRequests();
    const documents = this.registry.documents;
    documents.onDidChangeContent(({ document }) => this.registry.documentChanged(document.uri));
    documents.onDidSave(({ document }) => this.registry.documentSaved(document.uri));
    documents.onDidClose(({ document }) => this.registry.documentClosed(document.uri));
    documents.listen(c);
    c.listen();
  }

  /**
   * Every handler is wrapped: an exception becomes a log line (and, for a request, an error
   * response naming it) rather than a silent failure.
   */
  private request<P, R>(
    name: string,
    handler: (params: P, token: CancellationToken) => R | Promise<R>,
    quietResult?: () => R,
  ) {
    return safeRequest(this.connection.console, (text) => this.scrub(text), name, handler, quietResult);
  }

  private notification<P extends unknown[]>(name: string, handler: (...params: P) => unknown) {
    return safeNotification(this.connection.console, (text) => this.scrub(text), name, handler);
  }

  /** What the editor sends by itself: hover, code actions, settings, file and trust changes. */
  private listenToEditor(): void {
    const c = this.connection;
    const registry = this.registry;
    c.onHover(
      this.request(
        'hover',
        (p: HoverParams) => configHover(registry, p.textDocument.uri, p.position),
        () => null,
      ),
    );
    c.onCodeAction(
      this.request(
        'codeAction',
        (p: CodeActionParams) => quickFixes(registry, p.textDocument.uri, p.range, p.context.diagnostics),
        () => [],
      ),
    );
    // A client that answers workspace/configuration is asked again; the others push their settings.
    c.onDidChangeConfiguration(
      this.notification('didChangeConfiguration', ({ settings }: DidChangeConfigurationParams) =>
        registry.settingsChanged(registry.canPullSettings ? undefined : pushedSettings(settings)),
      ),
    );
    c.onDidChangeWatchedFiles(
      this.notification('didChangeWatchedFiles', ({ changes }: DidChangeWatchedFilesParams) =>
        registry.filesChanged(changes),
      ),
    );
    c.onNotification(
      WorkspaceTrustedNotification.type,
      this.notification('workspaceTrusted', () => {
        registry.trusted = true;
        registry.validateAll();
        this.status.restart();
      }),
    );
  }

  /** The client's custom requests (shared/protocol.ts) and the standard commands any client can run. */
  private listenToRequests(): void {
    const c = this.connection;
    const registry = this.registry;
    c.onRequest(
      ExecuteCommandRequest.type,
      this.request('executeCommand', (params, token) => this.commands.execute(params, token)),
    );
    c.onRequest(
      RefreshServerInfoRequest.type,
      this.request(
        'refreshServerInfo',
        async (): Promise<RefreshServerInfoResult> => ({ configs: await registry.refresh() }),
      ),
    );
    c.onRequest(
      ListConfigsRequest.type,
      this.request('listConfigs', () => registry.summaries()),
    );
    c.onRequest(
      RunLoadTestRequest.type,
      this.request('runLoadTest', async (params: RunLoadTestParams, token): Promise<RunLoadTestResult> => {
        if (!registry.trusted) return { outcome: 'error', message: UNTRUSTED_NO_CONNECT };
        return this.loadTests.run(params, token);
      }),
    );
    c.onRequest(
      CapacityReportRequest.type,
      this.request(
        'capacityReport',
        async ({ configUri }: CapacityReportParams): Promise<CapacityReportResult> => {
          if (!registry.trusted)
            return {
              text: 'This workspace is not trusted: Pool Capacity reads no server until you trust it.',
            };
          registry.facts.clear();
          return this.loadTests.capacityReport(configUri);
        },
      ),
    );
    c.onRequest(
      CapacityViewRequest.type,
      this.request(
        'capacityView',
        async ({ configUri }: CapacityReportParams): Promise<CapacityViewResult> => {
          if (!registry.trusted)
            return { message: 'This workspace is not trusted: Pool Capacity reads no server.' };
          registry.facts.clear();
          return this.loadTests.capacityView(configUri);
        },
      ),
    );
    c.onRequest(
      DashboardRequest.type,
      this.request('dashboard', async (params: DashboardParams): Promise<DashboardModel> => {
        if (!registry.trusted)
          return this.loadTests.dashboard.model(params, {
            message: 'This workspace is not trusted: Pool Capacity reads no server.',
          });
        if (params.readServers !== false) registry.facts.clear();
        return this.loadTests.dashboard.model(params);
      }),
    );
    c.onRequest(
      RunSweepRequest.type,
      this.request(
        'runSweep',
        async (params: RunSweepParams, token): Promise<RunSweepResult> =>
          registry.trusted
            ? this.loadTests.sweep(params, token)
            : { outcome: 'error', message: UNTRUSTED_NO_CONNECT },
      ),
    );
  }

  private initialize(params: InitializeParams): InitializeResult {
    const options = (params.initializationOptions ?? {}) as Partial<InitializationOptions>;
    // Only an explicit yes: outside VS Code there is no workspace trust to say no for the user.
    this.registry.trusted = options.trusted === true;
    this.trustUnsaid = options.trusted === undefined;
    this.status.enabled = options.statusNotifications === true;
    this.capabilities = params.capabilities;
    this.registry.canPullSettings = params.capabilities.workspace?.configuration === true;
    if (typeof options.historyDir === 'string' && options.historyDir !== '')
      this.loadTests.dashboard.historyDir = options.historyDir;
    if (options.settings && typeof options.settings === 'object')
      this.registry.pushedSettings = options.settings;
    this.workspaceFolders = (params.workspaceFolders ?? [])
      .map((f) => uriToPath(f.uri))
      .filter((p): p is string => p !== undefined);
    if (this.workspaceFolders.length === 0 && params.rootUri) {
      const root = uriToPath(params.rootUri);
      if (root) this.workspaceFolders.push(root);
    }
    return {
      capabilities: {
        textDocumentSync: {
          openClose: true,
          change: TextDocumentSyncKind.Incremental,
          save: { includeText: false },
        },
        hoverProvider: true,
        codeActionProvider: { codeActionKinds: [CodeActionKind.QuickFix] },
        executeCommandProvider: { commands: ServerCommandRunner.commands },
      },
      serverInfo: { name: 'pool-capacity' },
    };
  }

  private async initialized(): Promise<void> {
    const workspace = this.capabilities.workspace;
    // Registrations only where the client allows them (others log them as protocol violations).
    if (this.registry.canPullSettings && workspace?.didChangeConfiguration?.dynamicRegistration === true) {
      void this.connection.client.register(DidChangeConfigurationNotification.type, {
        section: 'poolCapacity',
      });
    }
    const clientWatches = clientWatchesFiles(this.capabilities);
    if (clientWatches) {
      registerWatchedFiles(this.connection, this.capabilities).catch((error: unknown) =>
        this.registry.log(`registering the watched files failed: ${String(error)}`),
      );
    } else {
      this.registry.onServersChanged(() => this.folderWatchers.follow(this.registry.configPaths()));
    }
    if (this.trustUnsaid) {
      void this.connection.sendNotification(ShowMessageNotification.type, {
        type: MessageType.Info,
        message: HOW_TO_TRUST,
      });
    }
    try {
      const files = (await Promise.all(this.workspaceFolders.map(findConfigFiles))).flat();
      this.connection.console.info(
        `${files.length} config file(s) in ${this.workspaceFolders.length} workspace folder(s)${this.registry.trusted ? '' : '; restricted workspace: no database is read'}`,
      );
      this.registry.scanned(files.map((path) => ({ uri: pathToUri(path), path })));
      if (!clientWatches) this.folderWatchers.follow(this.registry.configPaths());
    } finally {
      this.registry.scanEnded();
    }
    this.status.restart();
  }

  /** Text as it may be logged: without a password of any config this server has read. */
  scrub(text: string): string {
    return this.registry.scrub(text);
  }

  private async dispose(): Promise<void> {
    this.registry.dispose();
    this.folderWatchers.dispose();
    this.loadTests.cancelAll();
    await this.status.dispose();
  }
}
