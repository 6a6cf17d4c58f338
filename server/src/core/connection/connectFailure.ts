import { redact } from '../config/secretScrubber';

/**
 * Names why a connection or query failed, by SQLSTATE first and message variant second, so the
 * probe, the load-test engine and the CLI speak of failures in the same terms.
 */
export type FailureClass =
  | 'pool-exhausted' // client-side: every pooled connection is out and the pool fails fast
  | 'acquire-timeout' // client-side: waited for a pooled connection longer than allowed
  | 'too-many-clients' // 53300 "sorry, too many clients already"
  | 'reserved-superuser' // 53300 remaining slots reserved for superusers
  | 'reserved-pg-use-reserved' // 53300 (PG16+) reserved for pg_use_reserved_connections
  | 'role-limit' // 53300 too many connections for role
  | 'database-limit' // 53300 too many connections for database
  | 'pooler-refused' // PgBouncer 08P01: max_client_conn reached, or not allowed
  | 'authentication' // 28P01 / 28000
  | 'no-database' // 3D000
  | 'server-starting' // 57P03 / shutting down
  | 'connection-refused' // ECONNREFUSED
  | 'dns' // ENOTFOUND / EAI_AGAIN
  | 'host-unreachable' // EHOSTUNREACH / ENETUNREACH: no route to the host
  | 'connect-timeout'
  | 'query-timeout' // connected, then no answer to a query within the query timeout (a frozen server, a stalled path)
  | 'connection-lost' // the server went away mid-session
  | 'admin-shutdown' // 57P01 "terminating connection due to administrator command" (fast shutdown, switchover)
  | 'read-only' // 25006: a write on a standby (the member is no longer the leader)
  | 'ssl'
  | 'cancelled'
  | 'other';

export interface ConnectFailure {
  class: FailureClass;
  /** SQLSTATE or errno code, when there was one. */
  code?: string;
  /** A one-line, password-free description. */
  message: string;
}

/** Refusals because the server's slots ran out (role and database limits are not slots). */
export const SLOT_REFUSAL_CLASSES: readonly FailureClass[] = [
  'too-many-clients',
  'reserved-superuser',
  'reserved-pg-use-reserved',
];

export const REFUSAL_CLASSES: readonly FailureClass[] = [
  ...SLOT_REFUSAL_CLASSES,
  'role-limit',
  'database-limit',
];

export const isSlotRefusal = (cls: FailureClass): boolean => SLOT_REFUSAL_CLASSES.includes(cls);

/** Human labels used by reports and diagnostics. */
export const FAILURE_LABELS: Record<FailureClass, string> = {
  'pool-exhausted': 'client pool exhausted',
  'acquire-timeout': 'acquire timeout',
  'too-many-clients': 'server refusal 53300: too many clients',
  'reserved-superuser': 'server refusal 53300: slots reserved for superusers',
  'reserved-pg-use-reserved': 'server refusal 53300: slots reserved for pg_use_reserved_connections',
  'role-limit': 'server refusal 53300: role connection limit',
  'database-limit': 'server refusal 53300: database connection limit',
  'pooler-refused': 'refused by PgBouncer',
  authentication: 'authentication failed',
  'no-database': 'no such database',
  'server-starting': 'server starting up or shutting down',
  'connection-refused': 'connection refused',
  dns: 'host not found',
  'host-unreachable': 'no route to host',
  'connect-timeout': 'connect timeout',
  'query-timeout': 'query timeout',
  'connection-lost': 'connection lost',
  'admin-shutdown': 'terminated by the server (57P01 admin shutdown)',
  'read-only': 'read-only transaction (25006: not the leader)',
  ssl: 'SSL error',
  cancelled: 'cancelled',
  other: 'other error',
};

interface ErrorLike {
  code?: unknown;
  message?: unknown;
}

/**
 * Classifies a 53300 refusal by its message variant. Every wording the servers our users run send:
 * - PostgreSQL: "sorry, too many clients already";
 * - up to 15: "remaining connection slots are reserved for non-replication superuser connections";
 * - 16+: "... reserved for roles with the SUPERUSER attribute" and "... reserved for roles with
 *   privileges of the pg_use_reserved_connections role";
 * - managed platforms: RDS "... reserved for non-replication superuser and rds_superuser
 *   connections", and others' own reserved roles;
 * - "too many connections for role ..." / "... for database ..." (CONNECTION LIMIT).
 * A wording not listed (a translated server, a new platform) still is a 53300 slot refusal.
 */
export function classifyRefusal(message: string): FailureClass {
  // The full phrases: PG16+'s "reserved for roles with ..." also contains "for role".
  if (/too many connections for role/i.test(message)) return 'role-limit';
  if (/too many connections for database/i.test(message)) return 'database-limit';
  if (/pg_use_reserved_connections/i.test(message)) return 'reserved-pg-use-reserved';
  if (/reserved for .*superuser|SUPERUSER attribute|connection slots are reserved/i.test(message))
    return 'reserved-superuser';
  return 'too-many-clients';
}

/**
 * Why a pool could not be judged against its server: each is its own diagnostic code and its own
 * reason in `check --json`, so CI can tell a full server from a wrong password.
 */
export type UnverifiedCode =
  | 'server-unreachable'
  | 'auth-failed'
  | 'database-missing'
  | 'server-full'
  | 'tls-failed';

export const UNVERIFIED_CODES: readonly UnverifiedCode[] = [
  'server-unreachable',
  'auth-failed',
  'database-missing',
  'server-full',
  'tls-failed',
];

/** The one place a failure class becomes a diagnostic code. */
export function unverifiedCode(cls: FailureClass): UnverifiedCode {
  switch (cls) {
    case 'authentication':
      return 'auth-failed';
    case 'no-database':
      return 'database-missing';
    case 'ssl':
      return 'tls-failed';
    // Every 53300 at probe time: no slot was left for the probe itself (CONNECTION LIMITs included),
    // and PgBouncer refusing a client because max_client_conn is reached.
    case 'too-many-clients':
    case 'reserved-superuser':
    case 'reserved-pg-use-reserved':
    case 'role-limit':
    case 'database-limit':
    case 'pooler-refused':
      return 'server-full';
    default:
      return 'server-unreachable';
  }
}

/**
 * The one wording of "could not read this server", shared by the diagnostic, the hover and the
 * capacity report: `cannot connect to app@db:5432/appdb: authentication failed (…)`.
 */
export function describeConnectFailure(where: string, failure: ConnectFailure): string {
  // The SQLSTATE (28P01, 53300, ...) is what a DBA searches for; errno codes are in node's message.
  const code = failure.code && !failure.message.includes(failure.code) ? `${failure.code}: ` : '';
  const detail = failure.message && failure.message !== FAILURE_LABELS[failure.class] ? failure.message : '';
  return `cannot connect to ${where}: ${FAILURE_LABELS[failure.class]}${code || detail ? ` (${code}${detail})` : ''}`;
}

/** TLS failures node reports by error code rather than by a message naming TLS. */
const TLS_CODES = new Set([
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'CERT_HAS_EXPIRED',
  'CERT_NOT_YET_VALID',
  'ERR_TLS_CERT_ALTNAME_INVALID',
]);

/** What a login without any password says (rather than node-postgres's SASL type error). */
export const NO_PASSWORD_FOUND =
  'the server asks for a password and no password was found (config, `${VAR}`, `PGPASSWORD`, pgpass)';

/** A query that got no answer: the login worked, so the server froze or the path to it stalled. */
export const QUERY_TIMEOUT_MESSAGE =
  'connected, then the server did not answer a query within the query timeout';

export function classifyFailure(error: unknown, password?: string): ConnectFailure {
  const e = (error && typeof error === 'object' ? error : { message: String(error) }) as ErrorLike;
  const code = typeof e.code === 'string' ? e.code : undefined;
  // node-postgres's words when the server asks for a password and none was found anywhere.
  if (/client password must be a string/i.test(String(e.message)))
    return { class: 'authentication', code, message: NO_PASSWORD_FOUND };
  const message = redact(typeof e.message === 'string' ? e.message : String(error), password);
  const cls = ((): FailureClass => {
    switch (code) {
      case '53300':
        return classifyRefusal(message);
      case '08P01':
        return /no more connections allowed|max_client_conn|not allowed|pooler/i.test(message)
          ? 'pooler-refused'
          : 'other';
      case '28P01':
      case '28000':
        return 'authentication';
      case '3D000':
        return 'no-database';
      case '25006':
        return 'read-only';
      case '57P01':
        // A fast shutdown or pg_terminate_backend (what a Patroni switchover does to the old leader's
        // sessions); an immediate shutdown's wording stays "lost".
        if (/administrator command/i.test(message)) return 'admin-shutdown';
        return message.match(/terminat/i) ? 'connection-lost' : 'server-starting';
      case '57P03':
      case '57P02':
        return message.match(/terminat/i) ? 'connection-lost' : 'server-starting';
      case 'ECONNREFUSED':
        return 'connection-refused';
      case 'ENOTFOUND':
      case 'EAI_AGAIN':
        return 'dns';
      case 'EHOSTUNREACH':
      case 'ENETUNREACH':
        return 'host-unreachable';
      case 'ETIMEDOUT':
        return 'connect-timeout';
      case 'ECONNRESET':
      case 'EPIPE':
        return 'connection-lost';
      // We refused to send the password in clear text (connectionSecurity.ts): the login did not happen.
      case 'EPLAINPASSWORD':
        return 'authentication';
      case 'ABORT_ERR':
        return 'cancelled';
    }
    if (code && (TLS_CODES.has(code) || /^ERR_(SSL|TLS)_/.test(code))) return 'ssl';
    // node-postgres' query_timeout (openConnection.ts queryTimeoutMs).
    if (/query read timeout/i.test(message)) return 'query-timeout';
    if (/timeout expired|timed out|timeout exceeded when trying to connect/i.test(message))
      return 'connect-timeout';
    if (/Connection terminated|connection ended|Client has encountered a connection error/i.test(message))
      return 'connection-lost';
    if (/ssl|tls|certificate/i.test(message)) return 'ssl';
    if (/abort|cancel/i.test(message)) return 'cancelled';
    return 'other';
  })();
  // node-postgres' own words ("Query read timeout") do not say which side stopped.
  if (cls === 'query-timeout') return { class: cls, code, message: QUERY_TIMEOUT_MESSAGE };
  return { class: cls, code, message: message.split('\n')[0] ?? message };
}
