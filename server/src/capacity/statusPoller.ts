import type pg from 'pg';
import type { ServerStatus } from '../../../shared/protocol';
import { classifyFailure, FAILURE_LABELS } from '../db/connectFailure';
import { type ConnectionTarget, serverKey } from '../db/connectionTarget';
import { openConnection } from '../db/openConnection';
import {
  APPLICATION_NAME_PREFIX,
  CLIENT_BACKENDS,
  PROBE_APPLICATION_NAME,
  STATUS_APPLICATION_NAME,
} from './serverFacts';

/** One server the status bar watches, with the pools that use it. */
export interface WatchedServer {
  target: ConnectionTarget;
  pools: ServerStatus['pools'];
}

const COUNT_SQL = `
SELECT coalesce(datname, '') AS datname, count(*)::int AS n
FROM pg_stat_activity
WHERE ${CLIENT_BACKENDS}
  AND coalesce(application_name, '') NOT IN ('${STATUS_APPLICATION_NAME}', '${PROBE_APPLICATION_NAME}', '${APPLICATION_NAME_PREFIX}observer')
GROUP BY 1`;

const LIMITS_SQL = `
SELECT current_setting('max_connections')::int AS max_connections,
       current_setting('superuser_reserved_connections')::int AS superuser_reserved,
       coalesce(current_setting('reserved_connections', true), '0')::int AS reserved`;

/**
 * Counts connections on each watched server over one kept-open connection per server, so a
 * poll opens nothing new. A lost connection is reopened on the next poll.
 */
export class StatusPoller {
  private readonly clients = new Map<string, { client: pg.Client; fingerprint: string }>();
  private servers: WatchedServer[] = [];
  /** New connections opened so far: the benchmark checks it stays flat across polls. */
  connectionsOpened = 0;

  constructor(private readonly options: { connectTimeoutMs: number; headroomThreshold: number }) {}

  /** Replaces the watched set; connections to servers no longer watched are closed. */
  watch(servers: WatchedServer[]): void {
    this.servers = servers;
    const keep = new Set(servers.map((s) => serverKey(s.target)));
    for (const [key, entry] of this.clients) {
      if (!keep.has(key)) {
        this.clients.delete(key);
        void entry.client.end().catch(() => {});
      }
    }
  }

  setOptions(options: { connectTimeoutMs: number; headroomThreshold: number }): void {
    Object.assign(this.options, options);
  }

  async poll(): Promise<ServerStatus[]> {
    return Promise.all(this.servers.map((server) => this.pollOne(server)));
  }

  private async pollOne(server: WatchedServer): Promise<ServerStatus> {
    const key = serverKey(server.target);
    const base = { serverKey: key, pools: server.pools, headroomThreshold: this.options.headroomThreshold };
    try {
      const client = await this.clientFor(key, server.target);
      const [limits, counts] = await Promise.all([client.query(LIMITS_SQL), client.query(COUNT_SQL)]);
      const perDatabase: Record<string, number> = {};
      let connections = 0;
      for (const row of counts.rows) {
        perDatabase[row.datname || '(none)'] = row.n;
        connections += row.n;
      }
      const l = limits.rows[0];
      return {
        ...base,
        state: 'ok',
        connections,
        maxConnections: l.max_connections,
        usable: l.max_connections - l.superuser_reserved - l.reserved,
        perDatabase,
      };
    } catch (error) {
      const entry = this.clients.get(key);
      this.clients.delete(key);
      void entry?.client.end().catch(() => {});
      const failure = classifyFailure(error, server.target.password);
      return { ...base, state: 'unreachable', error: `${FAILURE_LABELS[failure.class]}: ${failure.message}` };
    }
  }

  private async clientFor(key: string, target: ConnectionTarget): Promise<pg.Client> {
    const fingerprint = `${target.user}\0${target.database}\0${target.password ?? ''}`;
    const existing = this.clients.get(key);
    if (existing && existing.fingerprint === fingerprint) return existing.client;
    if (existing) void existing.client.end().catch(() => {});
    this.connectionsOpened += 1;
    const client = await openConnection(target, {
      connectTimeoutMs: this.options.connectTimeoutMs,
      applicationName: STATUS_APPLICATION_NAME,
    });
    // A server that goes away ends the client; the next poll finds it gone and reconnects.
    client.on('end', () => {
      if (this.clients.get(key)?.client === client) this.clients.delete(key);
    });
    this.clients.set(key, { client, fingerprint });
    return client;
  }

  async dispose(): Promise<void> {
    const clients = [...this.clients.values()];
    this.clients.clear();
    this.servers = [];
    await Promise.all(clients.map((c) => c.client.end().catch(() => {})));
  }
}
