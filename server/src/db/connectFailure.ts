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
  | 'connect-timeout'
  | 'connection-lost' // the server went away mid-session
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
  'connect-timeout': 'connect timeout',
  'connection-lost': 'connection lost',
  ssl: 'SSL error',
  cancelled: 'cancelled',
  other: 'other error',
};

interface ErrorLike {
  code?: unknown;
  message?: unknown;
}

/** Classifies a 53300 refusal by its message variant. */
export function classifyRefusal(message: string): FailureClass {
  // The full phrases: PG16+'s "reserved for roles with ..." also contains "for role".
  if (/too many connections for role/i.test(message)) return 'role-limit';
  if (/too many connections for database/i.test(message)) return 'database-limit';
  if (/pg_use_reserved_connections/i.test(message)) return 'reserved-pg-use-reserved';
  if (/reserved for .*superuser|SUPERUSER attribute/i.test(message)) return 'reserved-superuser';
  return 'too-many-clients';
}

export function classifyFailure(error: unknown, password?: string): ConnectFailure {
  const e = (error && typeof error === 'object' ? error : { message: String(error) }) as ErrorLike;
  const code = typeof e.code === 'string' ? e.code : undefined;
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
      case '57P03':
      case '57P01':
      case '57P02':
        return message.match(/terminat/i) ? 'connection-lost' : 'server-starting';
      case 'ECONNREFUSED':
        return 'connection-refused';
      case 'ENOTFOUND':
      case 'EAI_AGAIN':
        return 'dns';
      case 'ETIMEDOUT':
        return 'connect-timeout';
      case 'ECONNRESET':
      case 'EPIPE':
        return 'connection-lost';
      case 'ABORT_ERR':
        return 'cancelled';
    }
    if (/timeout expired|timed out|timeout exceeded when trying to connect/i.test(message))
      return 'connect-timeout';
    if (/Connection terminated|connection ended|Client has encountered a connection error/i.test(message))
      return 'connection-lost';
    if (/ssl|tls|certificate/i.test(message)) return 'ssl';
    if (/abort|cancel/i.test(message)) return 'cancelled';
    return 'other';
  })();
  return { class: cls, code, message: message.split('\n')[0] ?? message };
}

/** Removes a password from any text that may echo it (driver messages, connection strings). */
export function redact(text: string, password?: string): string {
  let out = text.replace(/(postgres(?:ql)?:\/\/[^:/\s]*:)[^@\s]*@/gi, '$1***@');
  if (password && password.length >= 1) out = out.split(password).join('***');
  return out;
}

/** Removes every password of the config from text before it is printed (defence in depth). */
export function passwordScrubber(
  pools: readonly { target: { password?: string } }[],
): (text: string) => string {
  const passwords = [...new Set(pools.map((p) => p.target.password).filter((p): p is string => !!p))];
  // Longest first, so a password that contains another is removed whole.
  passwords.sort((a, b) => b.length - a.length);
  return (text) => passwords.reduce((out, password) => redact(out, password), redact(text));
}
