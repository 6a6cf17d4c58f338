/**
 * Re-validation when files change outside the editor: the configs, the `.env` beside their
 * `.claude-flow/` folder, and libpq's password file. A client that can watch files for us (dynamic
 * registration of workspace/didChangeWatchedFiles: VS Code, Neovim ≥ 0.9) gets our globs; for the
 * others the server watches the folders of the files it reads itself with Node's fs.watch
 * (non-recursive, a bounded number of folders, closed on shutdown).
 */
import { existsSync, type FSWatcher, watch } from 'node:fs';
import { homedir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import {
  type ClientCapabilities,
  type Connection,
  DidChangeWatchedFilesNotification,
  FileChangeType,
  type FileEvent,
  type FileSystemWatcher,
} from 'vscode-languageserver';
import { pathToUri } from './configWorkspace';

export const CONFIG_GLOB = '**/.claude-flow/config.{yaml,yml}';
export const DOTENV_GLOB = '**/.env';
/** More folders than any workspace of configs needs; past it the rest is left to the editor's save. */
export const MAX_WATCHED_FOLDERS = 64;
/** Editors write a file in steps (truncate, write, rename): one change per burst is enough. */
const SETTLE_MS = 50;

/** libpq's password file as the server reads it (PGPASSFILE, else ~/.pgpass). */
export function pgpassPath(env: NodeJS.ProcessEnv = process.env): string {
  return env.PGPASSFILE || join(homedir(), '.pgpass');
}

/** Whether the client watches files for us when we register globs. */
export function clientWatchesFiles(capabilities: ClientCapabilities): boolean {
  return capabilities.workspace?.didChangeWatchedFiles?.dynamicRegistration === true;
}

/** The globs registered with a client that watches files for us. */
export function watcherGlobs(capabilities: ClientCapabilities, pgpass = pgpassPath()): FileSystemWatcher[] {
  const relative = capabilities.workspace?.didChangeWatchedFiles?.relativePatternSupport === true;
  return [
    { globPattern: CONFIG_GLOB },
    { globPattern: DOTENV_GLOB },
    // The password file lies outside the workspace: a relative pattern on its folder where allowed.
    {
      globPattern: relative ? { baseUri: pathToUri(dirname(pgpass)), pattern: basename(pgpass) } : pgpass,
    },
  ];
}

/** The folders to watch, each with the file names in it that matter. */
export function watchedFolders(
  configPaths: readonly string[],
  pgpass = pgpassPath(),
): Map<string, Set<string>> {
  const folders = new Map<string, Set<string>>();
  const add = (folder: string, name: string) => {
    const names = folders.get(folder) ?? new Set<string>();
    names.add(name);
    folders.set(folder, names);
  };
  for (const config of configPaths) {
    const claudeFlow = dirname(config);
    add(claudeFlow, 'config.yaml');
    add(claudeFlow, 'config.yml');
    // loadConfigEnvironment reads the .env beside .claude-flow/.
    add(dirname(claudeFlow), '.env');
  }
  add(dirname(pgpass), basename(pgpass));
  return folders;
}

/** The server's own watchers, for clients that cannot watch files for it. */
export class FolderWatchers {
  private readonly watchers = new Map<string, FSWatcher>();
  private wanted = new Map<string, Set<string>>();
  private readonly changed = new Set<string>();
  private timer?: NodeJS.Timeout;
  private saidBounded = false;
  private disposed = false;

  constructor(
    private readonly onChanges: (changes: FileEvent[]) => void,
    private readonly log: (message: string) => void,
  ) {}

  /** Watches the folders of these configs, their `.env` and the password file; stops the rest. */
  follow(configPaths: readonly string[]): void {
    if (this.disposed) return;
    this.wanted = watchedFolders(configPaths);
    for (const [folder, watcher] of this.watchers) {
      if (!this.wanted.has(folder)) {
        watcher.close();
        this.watchers.delete(folder);
      }
    }
    for (const folder of this.wanted.keys()) {
      if (this.watchers.has(folder)) continue;
      if (this.watchers.size >= MAX_WATCHED_FOLDERS) {
        if (!this.saidBounded)
          this.log(
            `watching the first ${MAX_WATCHED_FOLDERS} folders only: changes elsewhere are seen when the file is saved in the editor`,
          );
        this.saidBounded = true;
        break;
      }
      this.open(folder);
    }
  }

  /** How many folders are watched now (tests and the log). */
  get size(): number {
    return this.watchers.size;
  }

  private open(folder: string): void {
    let watcher: FSWatcher;
    try {
      watcher = watch(folder, { persistent: false }, (_event, name) => {
        const file = name?.toString();
        if (file && this.wanted.get(folder)?.has(file)) this.queue(join(folder, file));
      });
    } catch {
      // A folder that is not there (a PGPASSFILE in a missing folder): nothing to watch.
      return;
    }
    watcher.on('error', () => {
      // The folder went away; a later follow() opens it again if it is still wanted.
      watcher.close();
      if (this.watchers.get(folder) === watcher) this.watchers.delete(folder);
    });
    this.watchers.set(folder, watcher);
  }

  private queue(path: string): void {
    this.changed.add(path);
    clearTimeout(this.timer);
    this.timer = setTimeout(() => this.flush(), SETTLE_MS);
  }

  private flush(): void {
    const changes = [...this.changed].map(
      (path): FileEvent => ({
        uri: pathToUri(path),
        type: existsSync(path) ? FileChangeType.Changed : FileChangeType.Deleted,
      }),
    );
    this.changed.clear();
    if (changes.length && !this.disposed) this.onChanges(changes);
  }

  dispose(): void {
    this.disposed = true;
    clearTimeout(this.timer);
    for (const watcher of this.watchers.values()) watcher.close();
    this.watchers.clear();
  }
}

/** Registers our globs with a client that watches files for us. */
export function registerWatchedFiles(connection: Connection, capabilities: ClientCapabilities) {
  return connection.client.register(DidChangeWatchedFilesNotification.type, {
    watchers: watcherGlobs(capabilities),
  });
}
