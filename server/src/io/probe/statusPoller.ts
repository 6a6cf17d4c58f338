import type pg from 'pg';
import type { ServerStatus, StatusLevel } from '../../../../shared/protocol';
import { constraintHeadline } from '../../core/capacity/budgetFindings';
import { type BudgetPool, serverBudget } from '../../core/capacity/serverBudget';
import { type ServerFacts, STATUS_APPLICATION_NAME } from '../../core/capacity/serverFacts';
import type { PoolName, ResolvedPool } from '../../core/config/poolConfig';
import { classifyFailure, FAILURE_LABELS } from '../../core/connection/connectFailure';
import { type ConnectionTarget, serverKey } from '../../core/connection/connectionTarget';
import { findLeader } from '../cluster/patroniCheck';
import { closeConnection, openConnection } from '../db/openConnection';
import { CLIENT_BACKENDS, SERVICE_NAMES_SQL } from './probeServer';

/** One server the status bar watches, with the pools that use it (and the role and database each connects as). */
export interface WatchedServer {
  target: ConnectionTarget;
  pools: (ServerStatus['pools'][number] & { user?: string; database?: string })[];
  /**
   * A Patroni cluster's pool: each poll asks the REST API for the leader and counts on it, so the
   * item follows a switchover or failover within one poll.
   */
  cluster?: { pool: ResolvedPool; api: string };
}

/** The watched entry's identity: its server, or its cluster's REST API (the leader changes). */
function watchKey(server: WatchedServer): string {
  return server.cluster ? `patroni ${server.cluster.api}` : serverKey(server.target);
}

/** Live client backends per role and database, our own watching connections excluded (load-test runs count). */
const COUNT_SQL = `
SELECT coalesce(datname, '') AS datname, coalesce(usename, '') AS usename, count(*)::int AS n
FROM pg_stat_activity
WHERE ${CLIENT_BACKENDS}
  AND coalesce(application_name, '') NOT IN (${SERVICE_NAMES_SQL})
GROUP BY 1, 2`;

/** The server's limits and, for the pools' roles and databases, what the budget needs of them. */
const LIMITS_SQL = `
SELECT current_setting('max_connections')::int AS max_connections,
       current_setting('superuser_reserved_connections')::int AS superuser_reserved,
       coalesce(current_setting('reserved_connections', true), '0')::int AS reserved,
       coalesce((SELECT json_agg(json_build_object(
                  'name', r.rolname, 'super', r.rolsuper, 'limit', r.rolconnlimit,
                  'mayUseReserved', coalesce((SELECT pg_has_role(r.oid, u.oid, 'USAGE') FROM pg_roles u
                                              WHERE u.rolname = 'pg_use_reserved_connections'), false)))
                 FROM pg_roles r WHERE r.rolname = ANY($1::text[])), '[]'::json) AS roles,
       coalesce((SELECT json_agg(json_build_object('name', datname, 'limit', datconnlimit))
                 FROM pg_database WHERE datname = ANY($2::text[])), '[]'::json) AS databases`;

interface LiveLimits {
  max_connections: number;
  superuser_reserved: number;
  reserved: number;
  roles: { name: string; super: boolean; limit: number; mayUseReserved: boolean }[];
  databases: { name: string; limit: number }[];
}

/**
 * The status level by the same budget as the diagnostics, with live counts in place of the probe's:
 * the pools' sizes against what the server has free for their roles now.
 */
export function liveBudget(
  key: string,
  pools: WatchedServer['pools'],
  fallback: { user: string; database: string },
  limits: LiveLimits,
  counts: { datname: string; usename: string; n: number }[],
  headroomThreshold: number,
): { level: StatusLevel; usable: number; summary: string } {
  const connections = counts.reduce((sum, c) => sum + c.n, 0);
  const factsFor = (user: string, database: string): ServerFacts => {
    const role = limits.roles.find((r) => r.name === user);
    const db = limits.databases.find((d) => d.name === database);
    return {
      serverVersion: '',
      serverVersionNum: 0,
      maxConnections: limits.max_connections,
      superuserReserved: limits.superuser_reserved,
      reserved: limits.reserved,
      isSuperuser: role?.super ?? false,
      mayUseReserved: role?.mayUseReserved ?? false,
      roleLimit: role?.limit ?? -1,
      databaseLimit: db?.limit ?? -1,
      usedByOthers: connections,
      roleInUse: counts.filter((c) => c.usename === user).reduce((sum, c) => sum + c.n, 0),
      databaseInUse: counts.filter((c) => c.datname === database).reduce((sum, c) => sum + c.n, 0),
      usageVisibility: 'all roles',
      readAt: Date.now(),
    };
  };
  // Several configs may name the same pool on one server: each counts once per config.
  const seen = new Set<string>();
  const sized: BudgetPool[] = [];
  for (const p of pools) {
    const user = p.user ?? fallback.user;
    const database = p.database ?? fallback.database;
    const id = `${p.name}\0${user}\0${database}`;
    if (p.poolSize === undefined || seen.has(id)) continue;
    seen.add(id);
    sized.push({
      name: p.name as PoolName,
      poolSize: p.poolSize,
      user,
      database,
      facts: factsFor(user, database),
    });
  }
  // With no valid size the level says only whether the server has room left at all.
  const budgetPools = sized.length
    ? sized
    : [
        {
          name: 'project' as PoolName,
          poolSize: 0,
          ...fallback,
          facts: factsFor(fallback.user, fallback.database),
        },
      ];
  const budget = serverBudget(key, budgetPools, { ratio: headroomThreshold });
  const sizes = new Map(budget.pools.map((p) => [p.name, p.poolSize]));
  const failing = budget.constraints.filter((c) => c.exceeded || c.tight);
  return {
    level: budget.verdict,
    usable: budget.usable,
    summary: failing.length
      ? failing.map((c) => constraintHeadline(c, sizes, false)).join('; ')
      : `${budget.poolsTotal} for the pools of ${budget.free} free, ${budget.headroomSlots} kept as headroom`,
  };
}

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
    const keep = new Set(servers.map(watchKey));
    for (const [key, entry] of this.clients) {
      if (!keep.has(key)) {
        this.clients.delete(key);
        void closeConnection(entry.client);
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
    if (!server.cluster) return this.pollServer(server, serverKey(server.target));
    const found = await findLeader(server.cluster.pool);
    if (!found.ok) {
      return {
        serverKey: `Patroni cluster (${server.cluster.api})`,
        pools: server.pools.map(({ name, poolSize, configUri }) => ({ name, poolSize, configUri })),
        headroomThreshold: this.options.headroomThreshold,
        state: 'unreachable',
        level: 'unreachable',
        error: found.message,
        cluster: server.cluster.api,
      };
    }
    const status = await this.pollServer({ ...server, target: found.target }, watchKey(server));
    return {
      ...status,
      serverKey: serverKey(found.target),
      leader: found.leader.name,
      cluster: server.cluster.api,
    };
  }

  /** Counts on one server over the kept-open connection of `clientKey`. */
  private async pollServer(server: WatchedServer, clientKey: string): Promise<ServerStatus> {
    const key = serverKey(server.target);
    const base = {
      serverKey: key,
      pools: server.pools.map(({ name, poolSize, configUri }) => ({ name, poolSize, configUri })),
      headroomThreshold: this.options.headroomThreshold,
    };
    try {
      const client = await this.clientFor(clientKey, server.target);
      const users = [
        ...new Set([server.target.user, ...server.pools.map((p) => p.user ?? server.target.user)]),
      ];
      const databases = [
        ...new Set([
          server.target.database,
          ...server.pools.map((p) => p.database ?? server.target.database),
        ]),
      ];
      const [limits, counts] = await Promise.all([
        client.query(LIMITS_SQL, [users, databases]),
        client.query(COUNT_SQL),
      ]);
      const perDatabase: Record<string, number> = {};
      let connections = 0;
      for (const row of counts.rows) {
        const name = row.datname || '(none)';
        perDatabase[name] = (perDatabase[name] ?? 0) + row.n;
        connections += row.n;
      }
      const l = limits.rows[0] as LiveLimits;
      const judged = liveBudget(
        key,
        server.pools,
        { user: server.target.user, database: server.target.database },
        l,
        counts.rows,
        this.options.headroomThreshold,
      );
      return {
        ...base,
        state: 'ok',
        connections,
        maxConnections: l.max_connections,
        usable: judged.usable,
        level: judged.level,
        summary: judged.summary,
        perDatabase,
      };
    } catch (error) {
      const entry = this.clients.get(clientKey);
      this.clients.delete(clientKey);
      if (entry) void closeConnection(entry.client);
      const failure = classifyFailure(error, server.target.password);
      return {
        ...base,
        state: 'unreachable',
        level: 'unreachable',
        error: `${FAILURE_LABELS[failure.class]}: ${failure.message}`,
      };
    }
  }

  private async clientFor(key: string, target: ConnectionTarget): Promise<pg.Client> {
    // The server is part of it: a cluster's entry reconnects when another member leads.
    const fingerprint = `${serverKey(target)}\0${target.user}\0${target.database}\0${target.password ?? ''}`;
    const existing = this.clients.get(key);
    if (existing && existing.fingerprint === fingerprint) return existing.client;
    if (existing) void closeConnection(existing.client);
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
    await Promise.all(clients.map((c) => closeConnection(c.client)));
  }
}

const LEVEL_ORDER: StatusLevel[] = ['ok', 'low-headroom', 'unreachable', 'exceeds'];

/** The item's level and the server it shows: the worst level, and among those the fullest. */
export function summarizeStatus(servers: readonly ServerStatus[]): { level?: StatusLevel; focus?: string } {
  if (servers.length === 0) return {};
  const fill = (s: ServerStatus) => (s.connections ?? 0) / Math.max(1, s.usable ?? 1);
  const rank = (s: ServerStatus) => LEVEL_ORDER.indexOf(s.level);
  const reachable = servers.filter((s) => s.state === 'ok');
  const worst = servers.reduce((a, b) => (rank(b) > rank(a) ? b : a));
  // The item shows a count: prefer a reachable server of the worst level it can show.
  const shown = reachable.length
    ? reachable.reduce((a, b) => (rank(b) > rank(a) || (rank(b) === rank(a) && fill(b) > fill(a)) ? b : a))
    : worst;
  return { level: worst.level, focus: shown.serverKey };
}
