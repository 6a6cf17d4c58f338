/** Asks a PgBouncer's admin console for its limits (core/capacity/poolerFacts). */
import type pg from 'pg';
import type { PoolerFacts } from '../../core/capacity/poolerFacts';
import { classifyFailure } from '../../core/connection/connectFailure';
import type { ConnectionTarget } from '../../core/connection/connectionTarget';
import { closeConnection, destroyOnAbort, openConnection } from '../db/openConnection';

/** The admin console's database name. */
export const ADMIN_DATABASE = 'pgbouncer';

/**
 * Asks whether the address is a PgBouncer, once the backend's own port has shown that something
 * sits in between. A PostgreSQL behind a port mapping (docker) has no `pgbouncer` database and
 * says so with 3D000; PgBouncer answers a role outside admin_users/stats_users with "not allowed".
 */
export async function detectPooler(
  target: ConnectionTarget,
  backendPort: number | null,
  options: {
    connectTimeoutMs: number;
    applicationName: string;
    /** Whether a client's application_name is one of our watching connections (not a load-test run). */
    isOwn: (applicationName: string) => boolean;
    signal?: AbortSignal;
  },
): Promise<PoolerFacts | undefined> {
  let admin: pg.Client | undefined;
  try {
    admin = await openConnection({ ...target, database: ADMIN_DATABASE }, options);
  } catch (error) {
    const failure = classifyFailure(error, target.password);
    if (failure.code === '08P01' && /not allowed/i.test(failure.message)) {
      return {
        kind: 'pgbouncer',
        backendPort,
        limitsUnreadable: `role "${target.user}" may not read PgBouncer's admin console (not in stats_users)`,
      };
    }
    return undefined;
  }
  const stopListening = destroyOnAbort(admin, options.signal);
  try {
    const config = new Map<string, string>();
    for (const row of (await admin.query('SHOW CONFIG')).rows) config.set(row.key, String(row.value));
    if (!config.has('max_client_conn')) return undefined;
    const clients = (await admin.query('SHOW CLIENTS')).rows as { application_name?: string }[];
    const database = (await admin.query('SHOW DATABASES')).rows.find((row) => row.name === target.database);
    const number = (key: string) => Number(config.get(key) ?? 0);
    return {
      kind: 'pgbouncer',
      backendPort,
      limits: {
        maxClientConn: number('max_client_conn'),
        otherClients: clients.filter((c) => !options.isOwn(c.application_name ?? '')).length,
        poolMode: database?.pool_mode ?? config.get('pool_mode') ?? 'session',
        poolSize: Number(database?.pool_size ?? number('default_pool_size')),
        reservePool: Number(database?.reserve_pool ?? number('reserve_pool_size')),
        maxDbConnections: Number(database?.max_connections || number('max_db_connections')),
        maxUserConnections: number('max_user_connections'),
        serverConnections: Number(database?.current_connections ?? 0),
      },
    };
  } catch (error) {
    return {
      kind: 'pgbouncer',
      backendPort,
      limitsUnreadable: `PgBouncer's admin console did not answer: ${classifyFailure(error, target.password).message}`,
    };
  } finally {
    stopListening();
    await closeConnection(admin);
  }
}
