/**
 * How our connections use TLS and the password, as libpq does: the six `sslmode`s with libpq's
 * fall-back between TLS and plain, and (the idea of libpq's `require_auth`) no password in clear
 * text or MD5 to a server whose identity TLS has not verified, unless the user allows that host.
 */
import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import type { ConnectionOptions } from 'node:tls';
import type pg from 'pg';
import { type ConnectionTarget, serverKey } from '../../core/connection/connectionTarget';
import { readSettingsFile } from '../config/configFiles';

/** One way of connecting: no TLS, or TLS with these options. */
export type TlsChoice = false | ConnectionOptions;

/** The error code of a password we refused to send; classified as an authentication failure. */
export const PLAIN_PASSWORD_REFUSED = 'EPLAINPASSWORD';

/**
 * The attempts libpq makes for a target's sslmode, in order:
 * - disable: plain only; allow: plain, then TLS; prefer (libpq's default): TLS, then plain;
 * - require: TLS without verification, except that with a root certificate it verifies the chain
 *   as verify-ca does (libpq's rule);
 * - verify-ca: the chain, not the host name; verify-full: both.
 * Without `sslrootcert`, the verifying modes use ~/.postgresql/root.crt as libpq does, and the
 * system's CAs where that file does not exist.
 */
export function tlsAttempts(target: ConnectionTarget): TlsChoice[] {
  const mode = target.ssl?.mode ?? 'disable';
  switch (mode) {
    case 'disable':
      return [false];
    case 'allow':
      return [false, tlsOptions(target, 'none')];
    case 'prefer': {
      const tls = tlsOptions(target, 'none');
      return saidNoTls(target) ? [false, tls] : [tls, false];
    }
    case 'require':
      return [tlsOptions(target, target.ssl?.rootCertPath ? 'chain' : 'none')];
    case 'verify-ca':
      return [tlsOptions(target, 'chain')];
    default:
      return [tlsOptions(target, 'full')];
  }
}

/**
 * Servers that answered "no TLS here" lately, by host:port. libpq goes on in plain text on the same
 * socket after that answer; node-postgres cannot, so `prefer` would open every connection twice to
 * such a server (a load test's agents included). For a minute after the answer, `prefer` tries
 * plain first, then TLS, which protects no less: whoever can answer "no TLS" can do so every time.
 */
const noTlsSince = new Map<string, number>();
const NO_TLS_MEMORY_MS = 60_000;

function saidNoTls(target: ConnectionTarget): boolean {
  const since = noTlsSince.get(serverKey(target));
  if (since === undefined) return false;
  if (Date.now() - since <= NO_TLS_MEMORY_MS) return true;
  noTlsSince.delete(serverKey(target));
  return false;
}

/** Called with each failed attempt: remembers a server that does not offer TLS at all. */
export function noteFailedAttempt(target: ConnectionTarget, tls: TlsChoice, error: unknown): void {
  const message = (error as { message?: unknown } | undefined)?.message;
  if (tls !== false && typeof message === 'string' && /does not support SSL/i.test(message)) {
    noTlsSince.set(serverKey(target), Date.now());
  }
}

function tlsOptions(target: ConnectionTarget, verify: 'none' | 'chain' | 'full'): ConnectionOptions {
  // Certificate and key files are read bounded: a path such as /dev/zero is refused, not read.
  const read = (path?: string) => (path ? readSettingsFile(path).toString('utf8') : undefined);
  const defaultRoot = join(homedir(), '.postgresql', 'root.crt');
  const rootPath =
    target.ssl?.rootCertPath ?? (verify !== 'none' && existsSync(defaultRoot) ? defaultRoot : undefined);
  return {
    rejectUnauthorized: verify !== 'none',
    ca: read(rootPath),
    cert: read(target.ssl?.certPath),
    key: read(target.ssl?.keyPath),
    ...(verify === 'chain' ? { checkServerIdentity: () => undefined } : {}),
  };
}

/** TLS that proved who the server is: only then may a password go in clear text or as MD5. */
export function isVerified(tls: TlsChoice): boolean {
  return tls !== false && tls.rejectUnauthorized === true;
}

/**
 * Whether a failed attempt in `allow` or `prefer` mode is worth the other attempt: the server
 * refused TLS, the TLS handshake failed, or pg_hba.conf has no entry for this encryption (28000).
 * libpq also retries after other startup errors; those (a wrong password, a full server) fail the
 * same way without TLS, so we do not knock twice.
 */
export function triesOtherMode(error: unknown): boolean {
  const e = (error ?? {}) as { code?: unknown; message?: unknown };
  const code = typeof e.code === 'string' ? e.code : '';
  const message = typeof e.message === 'string' ? e.message : '';
  if (code === '28000') return true;
  if (/does not support SSL/i.test(message)) return true;
  return (
    /^ERR_(SSL|TLS)_/.test(code) ||
    /SSL routines|TLS handshake|socket disconnected before secure/i.test(message)
  );
}

/**
 * Makes a client give its password only where it belongs: when the server asks for it in clear
 * text or as MD5 (SCRAM never reveals it) over a connection whose TLS is not verified, the attempt
 * fails with a message saying why, unless the user allows the host (target.allowPlainPassword).
 * A Unix socket never leaves the machine and is not restricted.
 *
 * node-postgres emits the server's request on the client's connection, then asks the client's
 * password (a function may stand in for it) before answering: our listener, added before
 * connect() adds the driver's, sees the request first.
 */
export function guardPassword(client: pg.Client, target: ConnectionTarget, tls: TlsChoice): void {
  const password = target.password;
  if (password === undefined || target.allowPlainPassword || target.host.startsWith('/') || isVerified(tls))
    return;
  let asked: string | undefined;
  const connection = (client as unknown as { connection: NodeJS.EventEmitter }).connection;
  connection.on('authenticationCleartextPassword', () => {
    asked = 'in clear text';
  });
  connection.on('authenticationMD5Password', () => {
    asked = 'as MD5';
  });
  (client as unknown as { password: () => string }).password = () => {
    if (asked === undefined) return password;
    const why = tls === false ? 'without TLS' : 'over TLS that does not verify the server';
    throw Object.assign(
      new Error(
        `${serverKey(target)} asked for the password ${asked} ${why} (sslmode ${target.ssl?.mode ?? 'disable'}); it was not sent. Use sslmode verify-full, or allow this host in poolCapacity.allowPlainPasswordHosts (CLI: --allow-plain-password ${target.host})`,
      ),
      { code: PLAIN_PASSWORD_REFUSED },
    );
  };
}
