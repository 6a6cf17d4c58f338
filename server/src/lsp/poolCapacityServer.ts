import {
  type CancellationToken,
  CodeActionKind,
  type CodeActionParams,
  type Connection,
  DidChangeConfigurationNotification,
  type DidChangeWatchedFilesParams,
  type HoverParams,
  type InitializeParams,
  type InitializeResult,
  TextDocumentSyncKind,
} from 'vscode-languageserver';
import {
  type CapacityReportParams,
  CapacityReportRequest,
  type CapacityReportResult,
  CapacityViewRequest,
  type CapacityViewResult,
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
import { safeNotification, safeRequest } from './handlerSafety';
import { LoadTestSession } from './loadTestSession';
import { StatusLoop } from './statusLoop';

const UNTRUSTED_NO_CONNECT = 'This workspace is not trusted: Pool Capacity connects to no database.';

/**
 * The language server's wiring: thin handlers over the config registry (configRegistry.ts), the
 * status loop (statusLoop.ts) and the load-test session, which call the plain modules in
 * capacity/, config/ and loadtest/ that the CLI and the tests call too.
 */
export class PoolCapacityServer {
  private readonly registry: ConfigRegistry;
  private readonly status: StatusLoop;
  private readonly loadTests: LoadTestSession;
  private workspaceFolders: string[] = [];

  constructor(private readonly connection: Connection) {
    this.registry = new ConfigRegistry(connection);
    this.status = new StatusLoop(connection, this.registry);
    this.loadTests = new LoadTestSession(connection, this.registry, this.status);
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
        (p: CodeActionParams) =>
          quickFixes(registry.documents.get(p.textDocument.uri), p.context.diagnostics),
        () => [],
      ),
    );
    c.onDidChangeConfiguration(this.notification('didChangeConfiguration', () => registry.settingsChanged()));
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

  /** The client's custom requests (shared/protocol.ts). */
  private listenToRequests(): void {
    const c = this.connection;
    const registry = this.registry;
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
    this.registry.trusted = options.trusted !== false;
    this.registry.canPullSettings = params.capabilities.workspace?.configuration === true;
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
      },
      serverInfo: { name: 'pool-capacity' },
    };
  }

  private async initialized(): Promise<void> {
    if (this.registry.canPullSettings) {
      void this.connection.client.register(DidChangeConfigurationNotification.type, {
        section: 'poolCapacity',
      });
    }
    try {
      const files = (await Promise.all(this.workspaceFolders.map(findConfigFiles))).flat();
      this.connection.console.info(
        `${files.length} config file(s) in ${this.workspaceFolders.length} workspace folder(s)${this.registry.trusted ? '' : '; restricted workspace: no database is read'}`,
      );
      this.registry.scanned(files.map((path) => ({ uri: pathToUri(path), path })));
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
    this.loadTests.cancelAll();
    await this.status.dispose();
  }
}
