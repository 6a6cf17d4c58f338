/**
 * What a probe learns about a server (io/probe/probeServer.ts reads it), the outcome the rules take,
 * and the application_name our own connections carry.
 */
import type { ConnectFailure } from '../connection/connectFailure';
import type { PoolerFacts } from './poolerFacts';

/** The application_name of probe connections; they are never counted as "used by others". */
export const PROBE_APPLICATION_NAME = 'pool-capacity/probe';

/** Load-test runs use `pool-capacity/<run id>`; status polling uses this. */
export const STATUS_APPLICATION_NAME = 'pool-capacity/status';

export const APPLICATION_NAME_PREFIX = 'pool-capacity/';

/** A load test's observer (one per run and server, counting the run's connections). */
export const OBSERVER_APPLICATION_NAME = `${APPLICATION_NAME_PREFIX}observer`;

/**
 * Our own watching connections: never "used by others". A load-test run's agents
 * (`pool-capacity/<run id>`) are NOT among them: to any other run, probe or status poll they hold
 * slots like any client, so a second run cannot take the margin the first one left.
 */
export const SERVICE_APPLICATION_NAMES: readonly string[] = [
  PROBE_APPLICATION_NAME,
  STATUS_APPLICATION_NAME,
  OBSERVER_APPLICATION_NAME,
];

/** What one server allows one role on one database, read live. */
export interface ServerFacts {
  /** e.g. "15.18" */
  serverVersion: string;
  serverVersionNum: number;
  maxConnections: number;
  superuserReserved: number;
  /** reserved_connections (PG16+), 0 before. */
  reserved: number;
  isSuperuser: boolean;
  /** Member of pg_use_reserved_connections (PG16+). */
  mayUseReserved: boolean;
  /** -1 = no limit */
  roleLimit: number;
  /** -1 = no limit */
  databaseLimit: number;
  /** Client backends on the server other than our probe, status and observer connections (load-test runs count). */
  usedByOthers: number;
  /** Connections of this role / to this database that are not ours. */
  roleInUse: number;
  databaseInUse: number;
  /**
   * How usedByOthers was counted: `all roles` with pg_read_all_stats (or superuser); `by name`
   * without it, where other roles' rows hide backend_type and are counted by user and database.
   */
  usageVisibility: 'all roles' | 'by name';
  /** Set when the pools reach PostgreSQL through PgBouncer: then its limits bind the clients. */
  pooler?: PoolerFacts;
  /** Epoch ms. */
  readAt: number;
}

export type ProbeOutcome = { ok: true; facts: ServerFacts } | { ok: false; failure: ConnectFailure };
