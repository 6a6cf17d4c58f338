// What the suites share: the activated extension, the fixture config, waiting on VS Code events with a
// deadline, and a superuser view of the fixture server to check what the extension did there.
import * as assert from 'node:assert/strict';
import * as path from 'node:path';
import pg from 'pg';
import * as vscode from 'vscode';
import type { PoolCapacityApi } from '../../../client/src/poolCapacityContext';
import { type FixtureInfo, fixtureFromEnv, type PoolFixture } from '../../../harness/fixtureInfo';

export const EXTENSION_ID = 'pool-capacity.pool-capacity';
export const DIAGNOSTIC_SOURCE = 'pool-capacity';
/** The application_name of every connection the extension opens starts with this. */
export const OUR_APPLICATION_PREFIX = 'pool-capacity/';

export const fixture: FixtureInfo = fixtureFromEnv();

/** The workspace the runner opened, and its config. */
export function configUri(): vscode.Uri {
  const folder = vscode.workspace.workspaceFolders?.[0];
  assert.ok(folder, 'no workspace folder is open');
  return vscode.Uri.file(path.join(folder.uri.fsPath, '.claude-flow', 'config.yaml'));
}

/** Activates the extension (a no-op when it already is) and returns its test API. */
export async function activateExtension(): Promise<PoolCapacityApi> {
  const extension = vscode.extensions.getExtension<PoolCapacityApi>(EXTENSION_ID);
  assert.ok(extension, `${EXTENSION_ID} is not among ${vscode.extensions.all.length} extensions`);
  const api = await extension.activate();
  await api.ready;
  return api;
}

/** The fixture's `poolSize: N` value range. */
export function poolSizeRange(pool: PoolFixture): vscode.Range {
  const start = '      poolSize: '.length;
  return new vscode.Range(pool.poolSizeLine, start, pool.poolSizeLine, start + String(pool.poolSize).length);
}

export function ourDiagnostics(uri: vscode.Uri): vscode.Diagnostic[] {
  return vscode.languages.getDiagnostics(uri).filter((d) => d.source === DIAGNOSTIC_SOURCE);
}

export function describeDiagnostics(diagnostics: readonly vscode.Diagnostic[]): string {
  if (diagnostics.length === 0) return '(none)';
  return diagnostics
    .map((d) => {
      const r = d.range;
      return `${d.code} ${r.start.line}:${r.start.character}-${r.end.line}:${r.end.character}`;
    })
    .join(', ');
}

/**
 * Resolves with the config's diagnostics once `accept` holds for them: at once if it already does,
 * else on the `onDidChangeDiagnostics` event that makes it hold.
 */
export function waitForDiagnostics(
  uri: vscode.Uri,
  accept: (diagnostics: vscode.Diagnostic[]) => boolean,
  what: string,
  timeoutMs = 15_000,
): Promise<vscode.Diagnostic[]> {
  const current = ourDiagnostics(uri);
  if (accept(current)) return Promise.resolve(current);
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      listener.dispose();
      reject(
        new Error(
          `no ${what} on ${uri.fsPath} within ${timeoutMs} ms; it has ${describeDiagnostics(ourDiagnostics(uri))}`,
        ),
      );
    }, timeoutMs);
    const listener = vscode.languages.onDidChangeDiagnostics((event) => {
      if (!event.uris.some((changed) => changed.toString() === uri.toString())) return;
      const diagnostics = ourDiagnostics(uri);
      if (!accept(diagnostics)) return;
      clearTimeout(timer);
      listener.dispose();
      resolve(diagnostics);
    });
  });
}

/** The diagnostics that need the live server: both pools together exceed what it can give. */
export function hasServerVerdict(diagnostics: vscode.Diagnostic[]): boolean {
  return diagnostics.some((d) => d.code === 'pool-exceeds-server');
}

/**
 * Polls `read` until it returns a value (not undefined) or the deadline passes. For state that has no
 * event (the extension's API, the server's pg_stat_activity, hovers that need a finished validation).
 */
export async function pollUntil<T>(
  read: () => T | undefined | Promise<T | undefined>,
  what: string | (() => string),
  timeoutMs = 15_000,
  everyMs = 100,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await read();
    if (value !== undefined) return value;
    if (Date.now() >= deadline) {
      throw new Error(`${typeof what === 'string' ? what : what()} (waited ${timeoutMs} ms)`);
    }
    await new Promise((resolve) => setTimeout(resolve, everyMs));
  }
}

/** A hover's markdown as one string. */
export function hoverText(hovers: readonly vscode.Hover[]): string {
  return hovers
    .flatMap((hover) => hover.contents)
    .map((content) => (typeof content === 'string' ? content : content.value))
    .join('\n');
}

/** A superuser connection to the fixture server's `postgres` database (not one the pools use). */
export async function connectAsSuperuser(applicationName = 'vscode-suite'): Promise<pg.Client> {
  const client = new pg.Client({
    host: fixture.host,
    port: fixture.port,
    user: fixture.superuser,
    password: fixture.superuserPassword,
    database: 'postgres',
    application_name: applicationName,
  });
  await client.connect();
  return client;
}

/**
 * Client backends as the status bar counts them: every client, load tests included, less the
 * extension's own status, probe and observer connections.
 */
export async function countClientBackends(client: pg.Client): Promise<number> {
  const { rows } = await client.query<{ n: number }>(
    `SELECT count(*)::int AS n FROM pg_stat_activity
     WHERE backend_type = 'client backend'
       AND coalesce(application_name, '') NOT IN ('pool-capacity/status', 'pool-capacity/probe', 'pool-capacity/observer')`,
  );
  return rows[0]!.n;
}

/** What the extension has on the server now, and has ever opened to the pools' databases. */
export interface OurFootprint {
  /** Open connections whose application_name starts with `pool-capacity/`. */
  open: string[];
  /** pg_stat_database.sessions of the pools' databases: counts every session, even a short probe. */
  sessions: number;
}

export async function ourFootprint(client: pg.Client): Promise<OurFootprint> {
  const open = await client.query<{ application_name: string; datname: string | null }>(
    `SELECT application_name, datname FROM pg_stat_activity WHERE application_name LIKE $1`,
    [`${OUR_APPLICATION_PREFIX}%`],
  );
  // Stats are read fresh: a single statement is its own transaction, so no cached snapshot.
  const sessions = await client.query<{ n: string }>(
    'SELECT coalesce(sum(sessions), 0)::bigint AS n FROM pg_stat_database WHERE datname = ANY($1)',
    [[fixture.project.database, fixture.shared.database]],
  );
  return {
    open: open.rows.map((r) => `${r.application_name} on ${r.datname ?? '(no database)'}`),
    sessions: Number(sessions.rows[0]!.n),
  };
}
