/**
 * The language server's view of the workspace's configs: one entry per config file (open or on
 * disk), validated after typing pauses (debounce), with results of an older validation dropped;
 * the settings each was checked with; and (serverReprobes.ts) a backoff re-probe of every server
 * whose probe failed, so its diagnostic clears by itself when the server comes back. The load tests, the report, the
 * hover and the status loop all read the configs from here.
 */

import { basename } from 'node:path';
import { type Connection, FileChangeType, type FileEvent, TextDocuments } from 'vscode-languageserver';
import { TextDocument } from 'vscode-languageserver-textdocument';
import type { ConfigSummary, ServerStatus } from '../../../shared/protocol';
import { type PoolCapacitySettings, sanitizeSettings } from '../../../shared/settings';
import type { PoolDiagnostic, PoolOutcomes } from '../core/capacity/rules';
import { readablePatroniPool } from '../core/cluster/patroniRules';
import { type LoadedConfig, probedPools } from '../core/config/loadedConfig';
import { describeTarget, serverKey } from '../core/connection/connectionTarget';
import { clusterWatch } from '../io/cluster/patroniCheck';
import { forgetDotenvFiles, readConfigText, resolveConfig } from '../io/config/configFiles';
import { checkConfig } from '../io/probe/configCheck';
import { FactsCache } from '../io/probe/factsCache';
import type { WatchedServer } from '../io/probe/statusPoller';
import { ClusterReprobes, type ClusterUse } from './clusterReprobes';
import { isConfigPath, uriToPath } from './configWorkspace';
import { pgpassPath } from './fileWatching';
import { toLspDiagnostic } from './lspConvert';
import { ServerReprobes } from './serverReprobes';

/** How long typing must pause before a document is validated again. */
export const VALIDATION_DEBOUNCE_MS = 100;
export interface ConfigEntry {
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
  /**
   * Who waits on `settled`. Released together when the latest validation ends (or the config is
   * forgotten): a validation replaced before its timer fired never runs, and must not leave its
   * waiters hanging.
   */
  waiters?: (() => void)[];
  /** The diagnostics last published (as JSON): the same findings are never published twice in a row. */
  published?: string;
  /** The findings last published, for the quick fixes of clients that do not echo `data` back. */
  findings?: PoolDiagnostic[];
}

/** A config as last validated, with the settings it was checked with. */
export interface LoadedWithSettings {
  loaded: LoadedConfig;
  settings: PoolCapacitySettings;
}

/** What the registry needs of the connection: publishing diagnostics, pulling settings, logging. */
export type RegistryConnection = Pick<Connection, 'sendDiagnostics'> & {
  workspace: Pick<Connection['workspace'], 'getConfiguration'>;
  console: Pick<Connection['console'], 'error'>;
};

export class ConfigRegistry {
  readonly documents = new TextDocuments(TextDocument);
  readonly facts = new FactsCache();
  /** A restricted workspace: configs are checked without connecting to any server. */
  trusted = true;
  /**
   * The client answers workspace/configuration; else every config gets `pushedSettings`: what the
   * client sent in `initializationOptions.settings` or last pushed with didChangeConfiguration.
   */
  canPullSettings = false;
  pushedSettings: unknown = {};
  private readonly configs = new Map<string, ConfigEntry>();
  /** Unreachable servers, re-probed by themselves so diagnostics recover without an edit. */
  private readonly reprobes = new ServerReprobes(this);
  /** Patroni clusters whose REST API was lost, re-read by themselves likewise. */
  private readonly clusterReprobes = new ClusterReprobes(this);
  private readonly serverListeners: ((servers: WatchedServer[]) => void)[] = [];
  /** Settles once the workspace folders have been searched for configs: requests wait for it. */
  private readonly workspaceScanned: Promise<void>;
  private markScanned!: () => void;

  constructor(private readonly connection: RegistryConnection) {
    this.workspaceScanned = new Promise((resolve) => {
      this.markScanned = resolve;
    });
  }

  /** Called with every probed server of every config whenever that set may have changed. */
  onServersChanged(listener: (servers: WatchedServer[]) => void): void {
    this.serverListeners.push(listener);
  }

  /** The configs found when the workspace was scanned: validated at once; requests wait until then. */
  scanned(paths: readonly { uri: string; path: string }[]): void {
    for (const { uri, path } of paths) this.schedule(uri, path, 0);
    this.markScanned();
  }

  /** Marks the scan finished even when it failed, so no request waits forever. */
  scanEnded(): void {
    this.markScanned();
  }

  /** The config files known (open or on disk), for watching them and their `.env`. */
  configPaths(): string[] {
    return [...this.configs.values()].map((e) => e.path);
  }

  get size(): number {
    return this.configs.size;
  }

  entry(uri: string): ConfigEntry | undefined {
    return this.configs.get(uri);
  }

  /** An open document changed: validate once typing pauses. */
  documentChanged(uri: string): void {
    const path = uriToPath(uri);
    if (path && isConfigPath(path)) this.schedule(uri, path, VALIDATION_DEBOUNCE_MS);
  }

  /** Saving the config is the moment people expect the servers to be read again. */
  documentSaved(uri: string): void {
    const path = uriToPath(uri);
    if (!path || !isConfigPath(path)) return;
    this.facts.clear();
    this.schedule(uri, path, 0);
  }

  /** Still a workspace config: revalidate from disk so the Problems panel stays right. */
  documentClosed(uri: string): void {
    const path = uriToPath(uri);
    if (path && isConfigPath(path)) this.schedule(uri, path, 0);
  }

  filesChanged(changes: readonly FileEvent[]): void {
    for (const change of changes) {
      const path = uriToPath(change.uri);
      if (!path) continue;
      if (isConfigPath(path)) {
        if (change.type === FileChangeType.Deleted) this.forget(change.uri);
        else if (!this.documents.get(change.uri)) this.schedule(change.uri, path, 0);
      } else if (basename(path) === '.env' || path === pgpassPath()) {
        // A changed .env or password file can change any config's variables and credentials.
        forgetDotenvFiles();
        this.facts.clear();
        this.validateAll();
      }
    }
  }

  /**
   * The settings changed: every config pulls its own again. `pushed`: the `poolCapacity` settings
   * a client without workspace/configuration sent along (undefined: the client only said "changed").
   */
  settingsChanged(pushed?: unknown): void {
    if (pushed !== undefined) this.pushedSettings = pushed;
    for (const entry of this.configs.values()) entry.settings = undefined;
    this.validateAll();
  }

  /** Reads every server again and revalidates every config; resolves once all have published. */
  async refresh(): Promise<number> {
    await this.workspaceScanned;
    this.facts.clear();
    this.validateAll();
    await this.allSettled();
    return this.configs.size;
  }

  async summaries(): Promise<ConfigSummary[]> {
    await this.workspaceScanned;
    await this.allSettled();
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
  }

  private allSettled(): Promise<unknown> {
    return Promise.all([...this.configs.values()].map((e) => e.settled));
  }

  /** Validates the config after `delayMs`; a validation scheduled meanwhile replaces this one. */
  schedule(uri: string, path: string, delayMs: number): void {
    let entry = this.configs.get(uri);
    if (!entry) {
      entry = { uri, path, generation: 0, outcomes: {} };
      this.configs.set(uri, entry);
    }
    const scheduled = entry;
    clearTimeout(scheduled.timer);
    const generation = ++scheduled.generation;
    scheduled.settled = new Promise<void>((resolve) => {
      scheduled.waiters = [...(scheduled.waiters ?? []), resolve];
    });
    scheduled.timer = setTimeout(() => {
      this.validate(scheduled, generation)
        .catch((error) => this.log(`validation of ${uri} failed: ${String(error)}`))
        .finally(() => {
          // Only the latest validation answers the waiters: a replaced one's result was dropped.
          if (generation === scheduled.generation) releaseWaiters(scheduled);
        });
    }, delayMs);
  }

  validateAll(): void {
    for (const entry of this.configs.values()) this.schedule(entry.uri, entry.path, 0);
  }

  private async validate(entry: ConfigEntry, generation: number): Promise<void> {
    const open = this.documents.get(entry.uri);
    let text: string;
    try {
      // Bounded: a config file far past the largest we check is not read into memory at all.
      text = open?.getText() ?? (await readConfigText(entry.path));
    } catch {
      this.forget(entry.uri);
      return;
    }
    const document = open ?? TextDocument.create(entry.uri, 'yaml', 0, text);
    const settings = entry.settings ?? (await this.settingsFor(entry.uri));
    entry.settings = settings;
    const loaded = await resolveConfig(entry.path, text, process.env, settings);
    if (generation !== entry.generation) return;
    const previous = entry.loaded;
    entry.loaded = loaded;
    // One publish per change of findings: an unchanged set is not sent again, nothing is sent
    // before there is something to show (or the validation is complete), and server findings of
    // the previous validation stay until the new probe answers (checkConfig's `assumed`).
    const publish = (found: PoolDiagnostic[], complete: boolean) => {
      if (generation !== entry.generation) return;
      entry.findings = found;
      const diagnostics = found.map((d) => toLspDiagnostic(document, d));
      const json = JSON.stringify(diagnostics);
      if (json === entry.published) return;
      if (entry.published === undefined && diagnostics.length === 0 && !complete) return;
      entry.published = json;
      void this.connection.sendDiagnostics({ uri: entry.uri, version: open?.version, diagnostics });
    };
    const { diagnostics, outcomes } = await checkConfig(loaded, this.facts, settings, {
      allowConnect: this.trusted,
      assumed: this.trusted && previous ? unchangedServers(previous, entry.outcomes, loaded) : undefined,
      onUpdate: (found, partial) => {
        if (generation !== entry.generation) return;
        entry.outcomes = partial;
        publish(found, false);
      },
    });
    if (generation === entry.generation) {
      publish(diagnostics, true);
      entry.outcomes = outcomes;
      this.serversChanged();
      this.reprobes.update();
      this.clusterReprobes.update();
    }
  }

  private forget(uri: string): void {
    const entry = this.configs.get(uri);
    if (entry) clearTimeout(entry.timer);
    // Whoever waits on a validation that will not run now gets its answer (the config is gone).
    if (entry) releaseWaiters(entry);
    this.configs.delete(uri);
    void this.connection.sendDiagnostics({ uri, diagnostics: [] });
    this.serversChanged();
  }

  async settingsFor(uri: string): Promise<PoolCapacitySettings> {
    if (!this.canPullSettings) return sanitizeSettings(this.pushedSettings);
    try {
      const pulled: unknown = await this.connection.workspace.getConfiguration({
        scopeUri: uri,
        section: 'poolCapacity',
      });
      // A client with no `poolCapacity` section of its own (Helix, eglot unless configured) answers
      // null: the settings given at start stand.
      return sanitizeSettings(pulled ?? this.pushedSettings);
    } catch {
      return sanitizeSettings(this.pushedSettings);
    }
  }

  /** The settings of the first config (the status poll's): a workspace has one set in practice. */
  async currentSettings(): Promise<PoolCapacitySettings> {
    const first = this.configs.values().next().value as ConfigEntry | undefined;
    return first?.settings ?? (await this.settingsFor(first?.uri ?? ''));
  }

  /** The config behind a uri, as last validated (the load test and report use the same model). */
  async loadedConfig(uri: string): Promise<LoadedWithSettings | undefined> {
    const path = uriToPath(uri);
    if (!path) return undefined;
    await this.workspaceScanned;
    const entry = this.configs.get(uri);
    await entry?.settled;
    if (entry?.loaded && entry.settings) return { loaded: entry.loaded, settings: entry.settings };
    const settings = await this.settingsFor(uri);
    try {
      return {
        loaded: await resolveConfig(path, await readConfigText(path), process.env, settings),
        settings,
      };
    } catch {
      return undefined;
    }
  }

  /** The probed pools of every config, with their latest outcomes. */
  *probedOutcomes() {
    for (const entry of this.configs.values()) {
      if (!entry.loaded) continue;
      for (const pool of probedPools(entry.loaded)) yield { entry, pool, outcome: entry.outcomes[pool.name] };
    }
  }

  /** Every config's readable Patroni cluster, with its latest outcome. */
  *clusterUses(): Generator<ClusterUse> {
    for (const entry of this.configs.values()) {
      const pool = entry.loaded && readablePatroniPool(entry.loaded);
      if (pool) yield { uri: entry.uri, pool, outcome: entry.outcomes.cluster };
    }
  }

  private serversChanged(): void {
    const servers = new Map<string, WatchedServer>();
    for (const { entry, pool } of this.probedOutcomes()) {
      const key = serverKey(pool.target);
      const watched = servers.get(key) ?? { target: pool.target, pools: [] };
      watched.pools.push({
        name: pool.name,
        poolSize: pool.poolSize,
        configUri: entry.uri,
        user: pool.target.user,
        database: pool.target.database,
      });
      servers.set(key, watched);
    }
    // A Patroni cluster is watched on whichever member leads at each poll.
    for (const entry of this.configs.values()) {
      const watch = entry.loaded && clusterWatch(entry.loaded, entry.uri);
      if (watch) servers.set(`patroni ${entry.uri}`, watch);
    }
    for (const listener of this.serverListeners) listener([...servers.values()]);
  }

  /** The status poll's view of the servers: the re-probes follow it. */
  followPolledStates(servers: readonly ServerStatus[]): void {
    this.reprobes.followPolledStates(servers);
  }

  /** Validates again (now) every config with a pool on this server. */
  revalidate(uris: Iterable<string>): void {
    for (const uri of uris) {
      const entry = this.configs.get(uri);
      if (entry) this.schedule(entry.uri, entry.path, 0);
    }
  }

  /** Text as it may be logged: without a password of any config this server has read. */
  scrub(text: string): string {
    let out = text;
    for (const entry of this.configs.values()) if (entry.loaded) out = entry.loaded.scrub(out);
    return out;
  }

  log(message: string): void {
    this.connection.console.error(this.scrub(message));
  }

  dispose(): void {
    for (const entry of this.configs.values()) {
      clearTimeout(entry.timer);
      releaseWaiters(entry);
    }
    this.reprobes.dispose();
    this.clusterReprobes.dispose();
  }
}

/**
 * The previous outcomes of the pools (and Patroni cluster) that still point at the same server,
 * user and database: what the editor keeps showing until the new probe answers.
 */
export function unchangedServers(
  previous: LoadedConfig,
  outcomes: PoolOutcomes,
  now: LoadedConfig,
): PoolOutcomes {
  const before = new Map(probedPools(previous).map((p) => [p.name, describeTarget(p.target)]));
  const kept: PoolOutcomes = {};
  for (const pool of probedPools(now)) {
    const outcome = outcomes[pool.name];
    if (outcome && before.get(pool.name) === describeTarget(pool.target)) kept[pool.name] = outcome;
  }
  const cluster = readablePatroniPool(now);
  const clusterBefore = readablePatroniPool(previous);
  if (
    outcomes.cluster &&
    cluster &&
    clusterBefore &&
    describeTarget(cluster.target) === describeTarget(clusterBefore.target)
  )
    kept.cluster = outcomes.cluster;
  return kept;
}

function releaseWaiters(entry: ConfigEntry): void {
  const waiters = entry.waiters ?? [];
  entry.waiters = [];
  for (const resolve of waiters) resolve();
}
