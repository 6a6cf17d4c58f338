/** What PgBouncer's admin console says (io/probe/poolerProbe.ts reads it). */

/** A PgBouncer between the pools and PostgreSQL, as its admin console describes it. */
export interface PoolerFacts {
  kind: 'pgbouncer';
  /** The port PostgreSQL itself listens on, as the backend sees it (null: a Unix socket). */
  backendPort: number | null;
  /** Read from the admin console; absent when the role may not use it (not in stats_users). */
  limits?: PoolerLimits;
  /** Why the limits could not be read (password-free). */
  limitsUnreadable?: string;
}

export interface PoolerLimits {
  /** max_client_conn: every client connection of every pool counts against it. */
  maxClientConn: number;
  /** Client connections open now that are not ours. */
  otherClients: number;
  poolMode: string;
  /** The server pool size for this database (its own pool_size, else default_pool_size). */
  poolSize: number;
  reservePool: number;
  /** 0 = unlimited */
  maxDbConnections: number;
  maxUserConnections: number;
  /** PgBouncer's server connections to PostgreSQL for this database now. */
  serverConnections: number;
}
