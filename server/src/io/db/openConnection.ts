import pg from 'pg';
import type { ConnectionTarget } from '../../core/connection/connectionTarget';
import {
  guardPassword,
  noteFailedAttempt,
  type TlsChoice,
  tlsAttempts,
  triesOtherMode,
} from './connectionSecurity';

export interface OpenOptions {
  connectTimeoutMs: number;
  /** Every connection of ours carries it, so probes and runs can be told apart from other clients. */
  applicationName: string;
  /** Aborting ends the attempt and closes the socket. */
  signal?: AbortSignal;
}

/**
 * node-postgres client options for a target: `tls` is one of the attempts its libpq sslmode makes
 * (connectionSecurity.ts), the first by default.
 */
export function clientConfig(
  target: ConnectionTarget,
  options: OpenOptions,
  tls: TlsChoice = tlsAttempts(target)[0] ?? false,
): pg.ClientConfig {
  return {
    host: target.host,
    port: target.port,
    database: target.database,
    user: target.user,
    password: target.password ?? '',
    ssl: tls,
    application_name: options.applicationName,
    connectionTimeoutMillis: options.connectTimeoutMs,
    // A query on a server that froze must not hang forever either.
    query_timeout: queryTimeoutMs(options.connectTimeoutMs),
    keepAlive: true,
  };
}

/** How long a graceful close may take before the socket is destroyed. */
export const CLOSE_TIMEOUT_MS = 1000;
/** A cancelled run closes faster: the user is waiting for the prompt. */
export const CANCEL_CLOSE_TIMEOUT_MS = 500;
/** Extra time over the driver's own connect timeout before our backstop gives up on an attempt. */
const CONNECT_BACKSTOP_MS = 1000;

/** The shortest query timeout: a catalog read on a busy 2-core server can take a second. */
export const MIN_QUERY_TIMEOUT_MS = 2000;

/**
 * How long one query of ours may wait for its answer: twice the connect timeout (the user's
 * measure of how slow this server may be), at least MIN_QUERY_TIMEOUT_MS. Every query we send is
 * a catalog read or an agent's one-row statement (`SELECT 1`, `SELECT txid_current()`), so a
 * server that gives no answer by then has frozen or the path
 * to it has stalled: the query fails with the `query-timeout` class (connectFailure.ts). The probe's
 * overall deadline (probeDeadlineMs) is longer, so a stalled query is reported as what it is.
 */
export function queryTimeoutMs(connectTimeoutMs: number): number {
  return Math.max(connectTimeoutMs * 2, MIN_QUERY_TIMEOUT_MS);
}

/** Drops the client's socket at once, without the goodbye a frozen server would never answer. */
export function destroyConnection(client: pg.Client): void {
  (client as unknown as { connection?: { stream?: { destroy(): void } } }).connection?.stream?.destroy();
}

/**
 * Closes a client within `boundMs`, whatever the server does: node-postgres' `end()` sends
 * Terminate and then waits for the server to close its side, which a frozen server or a network
 * path that loses the close never does. Past the bound the socket is destroyed. Never rejects.
 */
export async function closeConnection(client: pg.Client, boundMs = CLOSE_TIMEOUT_MS): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([
    client.end().catch(() => {}),
    new Promise<void>((resolve) => {
      timer = setTimeout(resolve, boundMs);
    }),
  ]);
  clearTimeout(timer);
  destroyConnection(client);
}

/**
 * Opens one connection with a hard deadline. On abort the attempt is abandoned at once (its socket
 * destroyed), and on failure the socket is closed, so a cancelled or timed-out attempt never
 * leaves a backend behind nor makes the caller wait out the connect timeout.
 */
export async function openConnection(target: ConnectionTarget, options: OpenOptions): Promise<pg.Client> {
  // allow and prefer make a second attempt the other way where libpq would (each with its deadline).
  const attempts = tlsAttempts(target);
  for (let i = 0; ; i++) {
    try {
      return await openAttempt(target, options, attempts[i] ?? false);
    } catch (error) {
      noteFailedAttempt(target, attempts[i] ?? false, error);
      if (i + 1 >= attempts.length || options.signal?.aborted || !triesOtherMode(error)) throw error;
    }
  }
}

async function openAttempt(
  target: ConnectionTarget,
  options: OpenOptions,
  tls: TlsChoice,
): Promise<pg.Client> {
  if (options.signal?.aborted) throw abortError();
  const client = new pg.Client(clientConfig(target, options, tls));
  guardPassword(client, target, tls);
  // An idle client whose server dies emits 'error'; without a listener that would crash the process.
  client.on('error', () => {});
  let onAbort: (() => void) | undefined;
  let backstop: NodeJS.Timeout | undefined;
  const connecting = client.connect();
  // Whatever settles first below, the driver's own promise must not end up unhandled.
  connecting.catch(() => {});
  try {
    await Promise.race([
      connecting,
      new Promise<never>((_, reject) => {
        onAbort = () => reject(abortError());
        options.signal?.addEventListener('abort', onAbort, { once: true });
        // The driver's connectionTimeoutMillis should fire first; this catches what it misses.
        backstop = setTimeout(
          () =>
            reject(
              Object.assign(new Error(`timeout expired after ${options.connectTimeoutMs} ms`), {
                code: 'ETIMEDOUT',
              }),
            ),
          options.connectTimeoutMs + CONNECT_BACKSTOP_MS,
        );
      }),
    ]);
    if (options.signal?.aborted) throw abortError();
    return client;
  } catch (error) {
    void client.end().catch(() => {});
    destroyConnection(client);
    throw options.signal?.aborted ? abortError() : error;
  } finally {
    clearTimeout(backstop);
    if (onAbort) options.signal?.removeEventListener('abort', onAbort);
  }
}

/**
 * Destroys the client's socket when the signal aborts (a query in flight then fails at once);
 * returns the function that stops listening.
 */
export function destroyOnAbort(client: pg.Client, signal: AbortSignal | undefined): () => void {
  if (!signal) return () => {};
  const onAbort = () => destroyConnection(client);
  if (signal.aborted) onAbort();
  else signal.addEventListener('abort', onAbort, { once: true });
  return () => signal.removeEventListener('abort', onAbort);
}

export function abortError(): Error {
  return Object.assign(new Error('cancelled'), { code: 'ABORT_ERR' });
}
