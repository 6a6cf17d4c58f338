import { type ChildProcess, spawn } from 'node:child_process';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import {
  createMessageConnection,
  type Diagnostic,
  type MessageConnection,
  type PublishDiagnosticsParams,
  StreamMessageReader,
  StreamMessageWriter,
} from 'vscode-languageserver-protocol/node';

const SERVER = join(__dirname, '..', 'dist', 'server.js');
const SHUTDOWN_GRACE_MS = 3000;
const KILL_AFTER_MS = 5000;

export interface LspSessionOptions {
  workspace: string;
  env?: Record<string, string | undefined>;
  trusted?: boolean;
  /** Answer workspace/configuration with these settings; omit to not declare the capability. */
  settings?: Record<string, unknown>;
  /** Ask for the status notifications, as the VS Code client does (default true). */
  statusNotifications?: boolean;
  /**
   * A client such as a bare editor's: no dynamic registration, no file watching, no
   * workspace/configuration (whatever `settings` says), but work-done progress and showDocument.
   */
  plain?: boolean;
  /** The client capabilities to declare instead of the ones `plain` and `settings` choose. */
  capabilities?: Record<string, unknown>;
  /** Sent as `initializationOptions` instead of `{ trusted, statusNotifications }` (null: none at all). */
  initializationOptions?: Record<string, unknown> | null;
}

/**
 * The real language server (`node dist/server.js --stdio`) driven by a plain JSON-RPC client, as
 * an editor would. Diagnostics are collected as they are published; tests wait for the ones they need.
 */
export class LspSession {
  readonly connection: MessageConnection;
  private readonly process: ChildProcess;
  private readonly latest = new Map<string, PublishDiagnosticsParams>();
  private readonly waiters: (() => void)[] = [];
  readonly notifications: { method: string; params: unknown }[] = [];
  /** Every publishDiagnostics, in order (to count publishes per change). */
  readonly publishes: PublishDiagnosticsParams[] = [];
  /** Requests the server sent the client (registrations, showDocument, progress creation). */
  readonly serverRequests: { method: string; params: unknown }[] = [];
  /** `$/progress` notifications, in order. */
  readonly progress: {
    token: string | number;
    value: { kind: string; message?: string; percentage?: number; cancellable?: boolean };
  }[] = [];
  stderr = '';

  /** The server process's id (the benchmark reads its memory from /proc). */
  get pid(): number | undefined {
    return this.process.pid;
  }

  constructor(private readonly options: LspSessionOptions) {
    this.process = spawn(process.execPath, [SERVER, '--stdio'], {
      env: {
        PATH: process.env.PATH,
        HOME: process.env.HOME,
        PGPASSFILE: '/nonexistent',
        ...options.env,
      } as NodeJS.ProcessEnv,
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    this.process.stderr!.on('data', (chunk) => {
      this.stderr += chunk;
    });
    this.connection = createMessageConnection(
      new StreamMessageReader(this.process.stdout!),
      new StreamMessageWriter(this.process.stdin!),
    );
    this.connection.onNotification('textDocument/publishDiagnostics', (params: PublishDiagnosticsParams) => {
      this.latest.set(params.uri, params);
      this.publishes.push(params);
      this.wake();
    });
    this.connection.onUnhandledProgress((params) => {
      this.progress.push(params as LspSession['progress'][number]);
      this.wake();
    });
    this.connection.onNotification((method, params) => {
      this.notifications.push({ method, params });
      this.wake();
    });
    const answer =
      <R>(method: string, result: R) =>
      (params: unknown): R => {
        this.serverRequests.push({ method, params });
        this.wake();
        return result;
      };
    this.connection.onRequest('workspace/configuration', (params: { items: unknown[] }) =>
      params.items.map(() => options.settings ?? null),
    );
    this.connection.onRequest('client/registerCapability', answer('client/registerCapability', null));
    this.connection.onRequest(
      'window/workDoneProgress/create',
      answer('window/workDoneProgress/create', null),
    );
    this.connection.onRequest('window/showDocument', answer('window/showDocument', { success: true }));
    this.connection.listen();
  }

  /** initialize + initialized; resolves with the server's InitializeResult. */
  async initialize(): Promise<unknown> {
    const workspaceUri = pathToFileURL(this.options.workspace).toString();
    const result = await this.connection.sendRequest('initialize', {
      processId: process.pid,
      rootUri: workspaceUri,
      workspaceFolders: [{ uri: workspaceUri, name: 'workspace' }],
      initializationOptions:
        this.options.initializationOptions !== undefined
          ? (this.options.initializationOptions ?? undefined)
          : {
              trusted: this.options.trusted ?? true,
              statusNotifications: this.options.statusNotifications ?? true,
            },
      capabilities: this.options.capabilities
        ? this.options.capabilities
        : this.options.plain
          ? {
              workspace: {},
              window: { workDoneProgress: true, showDocument: { support: true } },
              textDocument: { publishDiagnostics: {}, hover: {}, codeAction: {} },
            }
          : {
              workspace: { configuration: this.options.settings !== undefined },
              textDocument: { publishDiagnostics: { versionSupport: true }, hover: {}, codeAction: {} },
            },
    });
    await this.connection.sendNotification('initialized', {});
    return result;
  }

  open(uri: string, text: string, version = 1): Promise<void> {
    return this.connection.sendNotification('textDocument/didOpen', {
      textDocument: { uri, languageId: 'yaml', version, text },
    });
  }

  change(uri: string, text: string, version: number): Promise<void> {
    return this.connection.sendNotification('textDocument/didChange', {
      textDocument: { uri, version },
      contentChanges: [{ text }],
    });
  }

  diagnostics(uri: string): Diagnostic[] | undefined {
    return this.latest.get(uri)?.diagnostics;
  }

  /** Resolves with the first published diagnostics for uri that satisfy the predicate. */
  waitForDiagnostics(
    uri: string,
    predicate: (diagnostics: Diagnostic[]) => boolean,
    timeoutMs = 10_000,
  ): Promise<Diagnostic[]> {
    return this.waitFor(
      () => {
        const published = this.latest.get(uri);
        return published && predicate(published.diagnostics) ? published.diagnostics : undefined;
      },
      timeoutMs,
      () =>
        `diagnostics for ${uri}; last published: ${JSON.stringify(this.latest.get(uri)?.diagnostics ?? null)}`,
    );
  }

  /** Resolves with the first request the server sent the client that satisfies the predicate. */
  waitForServerRequest<T>(
    method: string,
    predicate: (params: T) => boolean = () => true,
    timeoutMs = 10_000,
  ) {
    return this.waitFor(
      () =>
        this.serverRequests.find((r) => r.method === method && predicate(r.params as T))?.params as
          | T
          | undefined,
      timeoutMs,
      () =>
        `request ${method} from the server; got ${JSON.stringify(this.serverRequests.map((r) => r.method))}`,
    );
  }

  /** Resolves with the first `$/progress` value that satisfies the predicate. */
  waitForProgress(predicate: (p: LspSession['progress'][number]) => boolean, timeoutMs = 10_000) {
    return this.waitFor(
      () => this.progress.find(predicate),
      timeoutMs,
      () => `$/progress; got ${JSON.stringify(this.progress.slice(-3))}`,
    );
  }

  waitForNotification<T>(method: string, predicate: (params: T) => boolean, timeoutMs = 10_000): Promise<T> {
    return this.waitFor(
      () =>
        this.notifications.find((n) => n.method === method && predicate(n.params as T))?.params as
          | T
          | undefined,
      timeoutMs,
      () =>
        `notification ${method}; got ${JSON.stringify(this.notifications.filter((n) => n.method === method).slice(-2))}`,
    );
  }

  private waitFor<T>(check: () => T | undefined, timeoutMs: number, describe: () => string): Promise<T> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        reject(
          new Error(
            `timed out after ${timeoutMs} ms waiting for ${describe()}\nserver stderr:\n${this.stderr}`,
          ),
        );
      }, timeoutMs);
      const attempt = () => {
        const found = check();
        if (found !== undefined) {
          clearTimeout(timer);
          resolve(found);
          return true;
        }
        return false;
      };
      if (attempt()) return;
      const waiter = () => {
        if (!attempt()) this.waiters.push(waiter);
      };
      this.waiters.push(waiter);
    });
  }

  private wake(): void {
    const waiting = this.waiters.splice(0);
    for (const waiter of waiting) waiter();
  }

  /** shutdown + exit, then waits for the process to end (kills it after 5 s). */
  async close(): Promise<number | null> {
    const exited = new Promise<number | null>((resolve) => {
      if (this.process.exitCode !== null) resolve(this.process.exitCode);
      this.process.once('exit', (code) => resolve(code));
    });
    try {
      await Promise.race([
        this.connection.sendRequest('shutdown'),
        new Promise((r) => setTimeout(r, SHUTDOWN_GRACE_MS)),
      ]);
      await this.connection.sendNotification('exit');
    } catch {
      // Already gone.
    }
    const killer = setTimeout(() => this.process.kill('SIGKILL'), KILL_AFTER_MS);
    const code = await exited;
    clearTimeout(killer);
    this.connection.dispose();
    return code;
  }
}
