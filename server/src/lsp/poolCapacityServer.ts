import { readFile } from 'node:fs/promises';
import {
  CodeActionKind,
  type Connection,
  type Diagnostic,
  DidChangeConfigurationNotification,
  FileChangeType,
  type InitializeParams,
  type InitializeResult,
  TextDocumentSyncKind,
  TextDocuments,
} from 'vscode-languageserver';
import { TextDocument } from 'vscode-languageserver-textdocument';
import {
  CapacityReportRequest,
  type InitializationOptions,
  ListConfigsRequest,
  RefreshServerInfoRequest,
  RunLoadTestRequest,
  type RunLoadTestResult,
  StatusNotification,
  type StatusParams,
  WorkspaceTrustedNotification,
} from '../../../shared/protocol';
import { type PoolCapacitySettings, sanitizeSettings } from '../../../shared/settings';
import { checkConfig } from '../capacity/configCheck';
import { FactsCache } from '../capacity/factsCache';
import { poolHover } from '../capacity/poolHover';
import type { PoolOutcomes, PoolSizeFix } from '../capacity/rules';
import { StatusPoller, type WatchedServer } from '../capacity/statusPoller';
import { forgetDotenvFiles } from '../config/connectionSettings';
import { type LoadedConfig, probedPools, resolveConfig } from '../config/loadConfig';
import { serverKey } from '../db/connectionTarget';
import { findConfigFiles, isConfigPath, pathToUri, uriToPath } from './configWorkspace';
import { LoadTestSession } from './loadTestSession';
import { DIAGNOSTIC_SOURCE, toLspDiagnostic, toRange } from './lspConvert';

/** How long typing must pause before a document is validated again. */
const VALIDATION_DEBOUNCE_MS = 100;

interface ConfigEntry {
  uri: string;
  path: string;
  /** Bumped by every validation; a result whose generation is old is dropped. */
  generation: number;
  timer?: NodeJS.Timeout;
  loaded?: LoadedConfig;
  outcomes: PoolOutcomes;
  settings?: PoolCapacitySettings;
  /** Resolves when the latest validation has published its complete result. */
  settled?: Promise<void>;
}

/**
 * The language server: handlers stay thin and call the plain modules in capacity/, config/ and
 * loadtest/, which the CLI and the tests call too.
 */
export class PoolCapacityServer {
  private readonly documents = new TextDocuments(TextDocument);
  private readonly configs = new Map<string, ConfigEntry>();
  private readonly facts = new FactsCache();
  private readonly poller: StatusPoller;
  private readonly loadTests: LoadTestSession;
  private trusted = true;
  private canPullSettings = false;
  private workspaceFolders: string[] = [];
  private pollTimer?: NodeJS.Timeout;
  /** Bumped on every restart, so a poll still running from before schedules nothing. */
  private pollGeneration = 0;
  private lastTest?: string;
  /** Settles once the workspace folders have been searched for configs: requests wait for it. */
  private readonly workspaceScanned: Promise<void>;
  private markScanned!: () => void;

  constructor(private readonly connection: Connection) {
    this.workspaceScanned = new Promise((resolve) => {
      this.markScanned = resolve;
    });
    this.poller = new StatusPoller({ connectTimeoutMs: 3000, headroomThreshold: 0.1 });
    this.loadTests = new LoadTestSession(
      connection,
      (uri) => this.loadedConfig(uri),
      (line) => {
        this.lastTest = line;
      },
    );
  }

  listen(): void {
    const c = this.connection;
    c.onInitialize((params) => this.initialize(params));
    c.onInitialized(() => this.runSafe('initialized', () => this.initialized()));
    c.onShutdown(() => this.dispose());
    c.onHover((params) => this.runSafe('hover', () => this.hover(params.textDocument.uri, params.position)));
    c.onCodeAction((params) =>
      this.runSafe('codeAction', () => this.codeActions(params.textDocument.uri, params.context.diagnostics)),
    );
    c.onDidChangeConfiguration(() => {
      for (const entry of this.configs.values()) entry.settings = undefined;
      this.validateAll();
    });
    c.onDidChangeWatchedFiles(({ changes }) => {
      for (const change of changes) {
        const path = uriToPath(change.uri);
        if (!path) continue;
        if (isConfigPath(path)) {
          if (change.type === FileChangeType.Deleted) this.forget(change.uri);
          else if (!this.documents.get(change.uri)) this.schedule(change.uri, path, 0);
        } else if (path.endsWith('.env')) {
          // A changed .env can change any config's variables and credentials.
          forgetDotenvFiles();
          this.facts.clear();
          this.validateAll();
        }
      }
    });
    c.onNotification(WorkspaceTrustedNotification.type, () => {
      this.trusted = true;
      this.validateAll();
      this.restartPolling();
    });
    c.onRequest(RefreshServerInfoRequest.type, async () => {
      await this.workspaceScanned;
      this.facts.clear();
      this.validateAll();
      await Promise.all([...this.configs.values()].map((e) => e.settled));
      return { configs: this.configs.size };
    });
    c.onRequest(ListConfigsRequest.type, async () => {
      await this.workspaceScanned;
      await Promise.all([...this.configs.values()].map((e) => e.settled));
      return [...this.configs.values()]
        .filter((e) => e.loaded)
        .map((e) => ({
          uri: e.uri,
          targetAgents: e.loaded!.targetAgents,
          pools: e.loaded!.pools.map((p) => ({
            name: p.name,
            poolSize: p.poolSize,
            server: serverKey(p.target),
          })),
        }));
    });
    c.onRequest(RunLoadTestRequest.type, async (params, token): Promise<RunLoadTestResult> => {
      if (!this.trusted)
        return {
          outcome: 'error',
          message: 'This workspace is not trusted: Pool Capacity connects to no database.',
        };
      return this.loadTests.run(params, token);
    });
    c.onRequest(CapacityReportRequest.type, async ({ configUri }) => {
      if (!this.trusted)
        return { text: 'This workspace is not trusted: Pool Capacity reads no server until you trust it.' };
      this.facts.clear();
      return this.loadTests.capacityReport(configUri);
    });

    this.documents.onDidChangeContent(({ document }) => {
      const path = uriToPath(document.uri);
      if (path && isConfigPath(path)) this.schedule(document.uri, path, VALIDATION_DEBOUNCE_MS);
    });
    this.documents.onDidSave(({ document }) => {
      const path = uriToPath(document.uri);
      if (!path || !isConfigPath(path)) return;
      // Saving the config is the moment people expect the servers to be read again.
      this.facts.clear();
      this.schedule(document.uri, path, 0);
    });
    this.documents.onDidClose(({ document }) => {
      // Still a workspace config: revalidate from disk so the Problems panel stays right.
      const path = uriToPath(document.uri);
      if (path && isConfigPath(path)) this.schedule(document.uri, path, 0);
    });
    this.documents.listen(c);
    c.listen();
  }

  private initialize(params: InitializeParams): InitializeResult {
    const options = (params.initializationOptions ?? {}) as Partial<InitializationOptions>;
    this.trusted = options.trusted !== false;
    this.canPullSettings = params.capabilities.workspace?.configuration === true;
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
    if (this.canPullSettings) {
      void this.connection.client.register(DidChangeConfigurationNotification.type, {
        section: 'poolCapacity',
      });
    }
    try {
      const files = (await Promise.all(this.workspaceFolders.map(findConfigFiles))).flat();
      for (const path of files) this.schedule(pathToUri(path), path, 0);
    } finally {
      this.markScanned();
    }
    this.restartPolling();
  }

  private entryFor(uri: string, path: string): ConfigEntry {
    let entry = this.configs.get(uri);
    if (!entry) {
      entry = { uri, path, generation: 0, outcomes: {} };
      this.configs.set(uri, entry);
    }
    return entry;
  }

  private schedule(uri: string, path: string, delayMs: number): void {
    const entry = this.entryFor(uri, path);
    clearTimeout(entry.timer);
    const generation = ++entry.generation;
    entry.settled = new Promise<void>((resolve) => {
      entry.timer = setTimeout(() => {
        this.validate(entry, generation)
          .catch((error) => this.log(`validation of ${uri} failed: ${String(error)}`))
          .finally(resolve);
      }, delayMs);
    });
  }

  private validateAll(): void {
    for (const entry of this.configs.values()) this.schedule(entry.uri, entry.path, 0);
  }

  private async validate(entry: ConfigEntry, generation: number): Promise<void> {
    const open = this.documents.get(entry.uri);
    let text: string;
    try {
      text = open?.getText() ?? (await readFile(entry.path, 'utf8'));
    } catch {
      this.forget(entry.uri);
      return;
    }
    const document = open ?? TextDocument.create(entry.uri, 'yaml', 0, text);
    const settings = entry.settings ?? (await this.settingsFor(entry.uri));
    entry.settings = settings;
    const loaded = await resolveConfig(entry.path, text, process.env, settings);
    if (generation !== entry.generation) return;
    entry.loaded = loaded;
    const publish = (diagnostics: Diagnostic[]) => {
      if (generation === entry.generation) {
        void this.connection.sendDiagnostics({ uri: entry.uri, version: open?.version, diagnostics });
      }
    };
    const { outcomes } = await checkConfig(loaded, this.facts, settings, {
      allowConnect: this.trusted,
      onUpdate: (found, partial) => {
        if (generation !== entry.generation) return;
        entry.outcomes = partial;
        publish(found.map((d) => toLspDiagnostic(document, d)));
      },
    });
    if (generation === entry.generation) {
      entry.outcomes = outcomes;
      this.updateWatchedServers();
    }
  }

  private forget(uri: string): void {
    const entry = this.configs.get(uri);
    if (entry) clearTimeout(entry.timer);
    this.configs.delete(uri);
    void this.connection.sendDiagnostics({ uri, diagnostics: [] });
    this.updateWatchedServers();
  }

  private async settingsFor(uri: string): Promise<PoolCapacitySettings> {
    if (!this.canPullSettings) return sanitizeSettings({});
    try {
      return sanitizeSettings(
        await this.connection.workspace.getConfiguration({ scopeUri: uri, section: 'poolCapacity' }),
      );
    } catch {
      return sanitizeSettings({});
    }
  }

  /** The config behind a uri, as last validated (the load test and report use the same model). */
  private async loadedConfig(
    uri: string,
  ): Promise<{ loaded: LoadedConfig; settings: PoolCapacitySettings } | undefined> {
    const path = uriToPath(uri);
    if (!path) return undefined;
    await this.workspaceScanned;
    const entry = this.configs.get(uri);
    await entry?.settled;
    if (entry?.loaded && entry.settings) return { loaded: entry.loaded, settings: entry.settings };
    const settings = await this.settingsFor(uri);
    try {
      return {
        loaded: await resolveConfig(path, await readFile(path, 'utf8'), process.env, settings),
        settings,
      };
    } catch {
      return undefined;
    }
  }

  private hover(uri: string, position: { line: number; character: number }) {
    const entry = this.configs.get(uri);
    const document = this.documents.get(uri);
    if (!entry?.loaded || !entry.settings || !document || document.getText() !== entry.loaded.text)
      return null;
    const found = poolHover(
      entry.loaded,
      entry.outcomes,
      entry.settings,
      document.offsetAt(position),
      this.trusted,
    );
    if (!found) return null;
    return {
      contents: { kind: 'markdown' as const, value: found.markdown },
      range: toRange(document, found.range),
    };
  }

  private codeActions(uri: string, diagnostics: Diagnostic[]) {
    const document = this.documents.get(uri);
    if (!document) return [];
    return diagnostics
      .filter((d) => d.source === DIAGNOSTIC_SOURCE)
      .flatMap((diagnostic) => {
        const fixes = ((diagnostic.data as { fixes?: PoolSizeFix[] } | undefined)?.fixes ?? []).filter(
          // The fix was computed for this text; skip it if the value has moved since.
          (fix) => /^\d+$/.test(document.getText().slice(fix.range.start, fix.range.end)),
        );
        return fixes.map((fix, index) => ({
          title: fix.title,
          kind: CodeActionKind.QuickFix,
          diagnostics: [diagnostic],
          isPreferred: index === 0,
          edit: {
            changes: { [uri]: [{ range: toRange(document, fix.range), newText: String(fix.newSize) }] },
          },
        }));
      });
  }

  private updateWatchedServers(): void {
    const servers = new Map<string, WatchedServer>();
    for (const entry of this.configs.values()) {
      if (!entry.loaded) continue;
      for (const pool of probedPools(entry.loaded)) {
        const key = serverKey(pool.target);
        const watched = servers.get(key) ?? { target: pool.target, pools: [] };
        watched.pools.push({ name: pool.name, poolSize: pool.poolSize, configUri: entry.uri });
        servers.set(key, watched);
      }
    }
    this.poller.watch([...servers.values()]);
  }

  private async currentPollSettings(): Promise<PoolCapacitySettings> {
    const first = this.configs.values().next().value as ConfigEntry | undefined;
    return first?.settings ?? (await this.settingsFor(first?.uri ?? ''));
  }

  private restartPolling(): void {
    clearTimeout(this.pollTimer);
    const generation = ++this.pollGeneration;
    const tick = async () => {
      const settings = await this.currentPollSettings();
      this.poller.setOptions({
        connectTimeoutMs: settings.connectTimeoutMs,
        headroomThreshold: settings.headroomThreshold,
      });
      let status: StatusParams;
      if (!this.trusted) status = { state: 'untrusted', servers: [], readAt: Date.now() };
      else if (settings.statusPollIntervalMs === 0)
        status = { state: 'off', servers: [], readAt: Date.now() };
      else {
        const servers = await this.poller.poll();
        status = {
          state: servers.length ? 'polling' : 'off',
          servers,
          readAt: Date.now(),
          lastTest: this.lastTest,
        };
      }
      if (generation !== this.pollGeneration) return;
      void this.connection.sendNotification(StatusNotification.type, status);
      if (this.trusted && settings.statusPollIntervalMs > 0) {
        this.pollTimer = setTimeout(
          () => void tick().catch((e) => this.log(`status poll failed: ${String(e)}`)),
          settings.statusPollIntervalMs,
        );
      }
    };
    void tick().catch((e) => this.log(`status poll failed: ${String(e)}`));
  }

  private async runSafe<T>(name: string, action: () => T | Promise<T>): Promise<T | null> {
    try {
      return await action();
    } catch (error) {
      this.log(`${name} failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
      return null;
    }
  }

  private log(message: string): void {
    this.connection.console.error(message);
  }

  private async dispose(): Promise<void> {
    clearTimeout(this.pollTimer);
    this.pollGeneration++;
    for (const entry of this.configs.values()) clearTimeout(entry.timer);
    this.loadTests.cancelAll();
    await this.poller.dispose();
  }
}
