import { readFileSync } from 'node:fs';
import type { ConnectionOptions } from 'node:tls';
import pg from 'pg';
import type { ConnectionTarget } from './connectionTarget';

export interface OpenOptions {
  connectTimeoutMs: number;
  /** Every connection of ours carries it, so probes and runs can be told apart from other clients. */
  applicationName: string;
  /** Aborting ends the attempt and closes the socket. */
  signal?: AbortSignal;
}

/** node-postgres client options for a target: libpq sslmode mapped onto Node's TLS options. */
export function clientConfig(target: ConnectionTarget, options: OpenOptions): pg.ClientConfig {
  return {
    host: target.host,
    port: target.port,
    database: target.database,
    user: target.user,
    password: target.password ?? '',
    ssl: tlsOptions(target),
    application_name: options.applicationName,
    connectionTimeoutMillis: options.connectTimeoutMs,
    // A query on a server that died must not hang forever either.
    query_timeout: Math.max(options.connectTimeoutMs * 2, 10_000),
    keepAlive: true,
  };
}

function tlsOptions(target: ConnectionTarget): false | ConnectionOptions {
  const mode = target.ssl?.mode ?? 'disable';
  if (mode === 'disable' || mode === 'allow' || mode === 'prefer') return false;
  const read = (path?: string) => (path ? readFileSync(path, 'utf8') : undefined);
  return {
    rejectUnauthorized: mode === 'verify-ca' || mode === 'verify-full',
    ca: read(target.ssl?.rootCertPath),
    cert: read(target.ssl?.certPath),
    key: read(target.ssl?.keyPath),
    ...(mode === 'verify-ca' ? { checkServerIdentity: () => undefined } : {}),
  };
}

/**
 * Opens one connection with a hard deadline. On abort or failure the socket is closed, so a
 * cancelled or timed-out attempt never leaves a backend behind.
 */
export async function openConnection(target: ConnectionTarget, options: OpenOptions): Promise<pg.Client> {
  const client = new pg.Client(clientConfig(target, options));
  // An idle client whose server dies emits 'error'; without a listener that would crash the process.
  client.on('error', () => {});
  const onAbort = () => {
    void client.end().catch(() => {});
  };
  if (options.signal?.aborted) throw abortError();
  options.signal?.addEventListener('abort', onAbort, { once: true });
  try {
    await client.connect();
    if (options.signal?.aborted) {
      await client.end().catch(() => {});
      throw abortError();
    }
    return client;
  } catch (error) {
    await client.end().catch(() => {});
    throw options.signal?.aborted ? abortError() : error;
  } finally {
    options.signal?.removeEventListener('abort', onAbort);
  }
}

export function abortError(): Error {
  return Object.assign(new Error('cancelled'), { code: 'ABORT_ERR' });
}
