/** Reads a server's limits and usage (core/capacity/serverFacts) with one short-lived connection. */

import {
  PROBE_APPLICATION_NAME,
  type ProbeOutcome,
  SERVICE_APPLICATION_NAMES,
} from '../../core/capacity/serverFacts';
import { classifyFailure } from '../../core/connection/connectFailure';
import type { ConnectionTarget } from '../../core/connection/connectionTarget';
import { abortError, closeConnection, destroyOnAbort, openConnection } from '../db/openConnection';
import { detectPooler } from './poolerProbe';

/**
 * A pg_stat_activity condition for backends that hold a connection slot. Rows of other roles keep
 * usename/datname/application_name visible to everyone, only backend_type/state/query are hidden;
 * so count client backends where visible, and hidden rows that have a user and a database: the
 * logical replication launcher runs as the bootstrap superuser but has no database, and would
 * otherwise count as an extra client.
 */
export const CLIENT_BACKENDS = `(backend_type = 'client backend' OR (backend_type IS NULL AND usename IS NOT NULL AND datname IS NOT NULL))`;

/** Our own watching connections' application_names, as an SQL list for IN (...). */
export const SERVICE_NAMES_SQL = SERVICE_APPLICATION_NAMES.map((n) => `'${n}'`).join(', ');

export const FACTS_SQL = `
SELECT current_setting('server_version') AS server_version,
       inet_server_port() AS backend_port,
       current_setting('server_version_num')::int AS server_version_num,
       current_setting('max_connections')::int AS max_connections,
       current_setting('superuser_reserved_connections')::int AS superuser_reserved,
       coalesce(current_setting('reserved_connections', true), '0')::int AS reserved,
       coalesce((SELECT rolsuper FROM pg_roles WHERE rolname = current_user), false) AS is_superuser,
       coalesce((SELECT pg_has_role(current_user, oid, 'USAGE') FROM pg_roles
                 WHERE rolname = 'pg_use_reserved_connections'), false) AS may_use_reserved,
       coalesce((SELECT rolconnlimit FROM pg_roles WHERE rolname = current_user), -1) AS role_limit,
       coalesce((SELECT datconnlimit FROM pg_database WHERE datname = current_database()), -1) AS db_limit,
       pg_has_role(current_user, 'pg_read_all_stats', 'USAGE') OR
         coalesce((SELECT rolsuper FROM pg_roles WHERE rolname = current_user), false) AS sees_all`;

export const USAGE_SQL = `
SELECT count(*) FILTER (WHERE NOT ours)::int AS others,
       count(*) FILTER (WHERE NOT ours AND usename = current_user)::int AS role_in_use,
       count(*) FILTER (WHERE NOT ours AND datname = current_database())::int AS db_in_use
FROM (SELECT coalesce(application_name IN (${SERVICE_NAMES_SQL}), false) AS ours,
             usename, datname
      FROM pg_stat_activity
      WHERE ${CLIENT_BACKENDS}) a`;

export interface ProbeOptions {
  connectTimeoutMs: number;
  signal?: AbortSignal;
}

/**
 * How long a whole probe may take: two connects (the server, and PgBouncer's admin console behind
 * a pooler) and a few catalog reads. A probe still running then is abandoned with a timeout.
 */
export function probeDeadlineMs(connectTimeoutMs: number): number {
  return 2 * connectTimeoutMs + 4000;
}

/**
 * Reads a server's limits with one short-lived connection, closed whatever happens. Ends within
 * probeDeadlineMs (plus the bounded close), or at once when the signal aborts.
 */
export async function probeServer(target: ConnectionTarget, options: ProbeOptions): Promise<ProbeOutcome> {
  const deadlineMs = probeDeadlineMs(options.connectTimeoutMs);
  const stop = new AbortController();
  const onOuterAbort = () => stop.abort();
  if (options.signal?.aborted) stop.abort();
  options.signal?.addEventListener('abort', onOuterAbort, { once: true });
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    stop.abort();
  }, deadlineMs);
  let client: Awaited<ReturnType<typeof openConnection>> | undefined;
  let stopListening = () => {};
  try {
    client = await openConnection(target, {
      connectTimeoutMs: options.connectTimeoutMs,
      applicationName: PROBE_APPLICATION_NAME,
      signal: stop.signal,
    });
    // A query in flight when the deadline passes or the caller cancels fails at once.
    stopListening = destroyOnAbort(client, stop.signal);
    const facts = (await client.query(FACTS_SQL)).rows[0];
    const usage = (await client.query(USAGE_SQL)).rows[0];
    // The backend listening elsewhere than we connected means something sits in between.
    const pooler =
      facts.backend_port === target.port || target.host.startsWith('/')
        ? undefined
        : await detectPooler(target, facts.backend_port, {
            connectTimeoutMs: options.connectTimeoutMs,
            applicationName: PROBE_APPLICATION_NAME,
            isOwn: (applicationName) => SERVICE_APPLICATION_NAMES.includes(applicationName),
            signal: stop.signal,
          });
    if (stop.signal.aborted) throw abortedProbe(timedOut, deadlineMs);
    return {
      ok: true,
      facts: {
        serverVersion: facts.server_version,
        serverVersionNum: facts.server_version_num,
        maxConnections: facts.max_connections,
        superuserReserved: facts.superuser_reserved,
        reserved: facts.reserved,
        isSuperuser: facts.is_superuser,
        mayUseReserved: facts.may_use_reserved,
        roleLimit: facts.role_limit,
        databaseLimit: facts.db_limit,
        usedByOthers: usage.others,
        roleInUse: usage.role_in_use,
        databaseInUse: usage.db_in_use,
        usageVisibility: facts.sees_all ? 'all roles' : 'by name',
        pooler,
        readAt: Date.now(),
      },
    };
  } catch (error) {
    const cause = stop.signal.aborted ? abortedProbe(timedOut, deadlineMs) : error;
    return { ok: false, failure: classifyFailure(cause, target.password) };
  } finally {
    clearTimeout(timer);
    options.signal?.removeEventListener('abort', onOuterAbort);
    stopListening();
    if (client) await closeConnection(client);
  }
}

export function abortedProbe(timedOut: boolean, deadlineMs: number): Error {
  return timedOut
    ? Object.assign(new Error(`the server did not answer the probe within ${deadlineMs} ms`), {
        code: 'ETIMEDOUT',
      })
    : abortError();
}
