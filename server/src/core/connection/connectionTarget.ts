/** Where one pool connects: fully resolved (config keys, origin env vars, PG* vars, pgpass). */
export interface ConnectionTarget {
  host: string;
  port: number;
  database: string;
  user: string;
  /** Never printed: messages use `describeTarget`. */
  password?: string;
  ssl?: SslSettings;
  /**
   * The user allows this host to ask for the password in clear text or as MD5 over a connection
   * whose TLS is not verified (poolCapacity.allowPlainPasswordHosts); otherwise it is not sent.
   */
  allowPlainPassword?: boolean;
}

export interface SslSettings {
  /** libpq sslmode: disable | allow | prefer | require | verify-ca | verify-full */
  mode: string;
  rootCertPath?: string;
  certPath?: string;
  keyPath?: string;
}

/** Pools reaching the same host:port compete for the same backend slots. */
export function serverKey(target: Pick<ConnectionTarget, 'host' | 'port'>): string {
  return target.host.includes(':') ? `[${target.host}]:${target.port}` : `${target.host}:${target.port}`;
}

/** A target as it may appear in messages: no password. */
export function describeTarget(target: ConnectionTarget): string {
  return `${target.user}@${serverKey(target)}/${target.database}`;
}
