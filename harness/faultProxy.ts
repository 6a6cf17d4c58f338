/**
 * A TCP proxy in the test process, on loopback, that misbehaves on demand between our clients and
 * a real PostgreSQL (or PgBouncer): the network faults a hostile environment has, made repeatable.
 *
 * - `pass`: forwards both ways, closes both ways.
 * - `stall`: from now on forwards no byte either way (new connections are accepted and left
 *   unanswered); a side that closes still closes the other, so the server's backends go away.
 * - `drop-close`: forwards data, but loses the close: the client's FIN/Terminate is not forwarded
 *   as a close and the client never sees one, so a client waiting for the server to close waits
 *   forever. (The Terminate message itself reaches the server, so its backend does end.)
 * - `garbage`: new connections get bytes that are not the PostgreSQL protocol, then stay open.
 * - `cutAll()`: destroys every connection now (both sides), at the moment the test chooses.
 * - `stallAnswersTo(pattern)`: passes the login, then, on a connection whose client sends a query
 *   matching the pattern, forwards the query but never another byte of the server's answers: to
 *   the client, the server froze with that query in flight (while other connections carry on).
 *   With `beforeForwarding`, the query is held until that resolves (say, once the test has frozen
 *   the server with SIGSTOP), so a real frozen server gets it.
 * - `stopListening()` / `listen()`: the port refuses connections, then accepts them again.
 */
import net from 'node:net';

export type FaultMode = 'pass' | 'stall' | 'drop-close' | 'garbage';

export interface FaultProxy {
  readonly host: string;
  readonly port: number;
  mode: FaultMode;
  /** Connections accepted since start (or the last resetCounts). */
  readonly accepted: number;
  /** Connections whose client has not closed its side (no FIN or reset received from it). */
  openClients(): number;
  resetCounts(): void;
  cutAll(): void;
  /** From now on (undefined: no more), answers to queries matching `pattern` never arrive. */
  stallAnswersTo(pattern: RegExp | undefined, beforeForwarding?: () => Promise<void>): void;
  /** Queries whose answers were stalled so far. */
  readonly stalledQueries: number;
  stopListening(): Promise<void>;
  listen(): Promise<void>;
  close(): Promise<void>;
}

const GARBAGE = Buffer.from('HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n\x00\xff\xfe garbage');

interface Pair {
  client: net.Socket;
  upstream?: net.Socket;
  /** The client's bytes not yet framed into messages (see queriesIn). */
  pending: Buffer;
  /** Past the untyped startup messages (SSLRequest, StartupMessage). */
  started: boolean;
  /** The server's answers are dropped from now on. */
  answersStalled: boolean;
  /** The bytes stopped framing as the protocol (TLS): no longer parsed. */
  opaque: boolean;
  /** The client's bytes held back until beforeForwarding resolves, in order. */
  held?: Buffer[];
}

const SSL_REQUEST = 80877103;
const GSSENC_REQUEST = 80877104;
/** Longer than any message our clients send: the bytes are not (or no longer) the plain protocol. */
const MAX_FRAMED_MESSAGE = 1 << 20;

/**
 * The SQL of the Query ('Q') and Parse ('P') messages completed by `chunk` on this connection,
 * framed by the protocol's lengths. A connection that switched to TLS is opaque: nothing matches.
 */
function queriesIn(pair: Pair, chunk: Buffer): string[] {
  if (pair.opaque) return [];
  pair.pending = Buffer.concat([pair.pending, chunk]);
  const queries: string[] = [];
  for (;;) {
    const typed = pair.started ? 1 : 0;
    if (pair.pending.length < typed + 4) break;
    const length = pair.pending.readInt32BE(typed);
    if (length < 4 || length > MAX_FRAMED_MESSAGE) {
      pair.opaque = true;
      pair.pending = Buffer.alloc(0);
      break;
    }
    if (pair.pending.length < typed + length) break;
    const body = pair.pending.subarray(typed + 4, typed + length);
    if (!pair.started) {
      const code = body.length >= 4 ? body.readInt32BE(0) : 0;
      if (code !== SSL_REQUEST && code !== GSSENC_REQUEST) pair.started = true;
    } else {
      const type = String.fromCharCode(pair.pending[0]!);
      const strings = body.toString('utf8').split('\0');
      if (type === 'Q') queries.push(strings[0] ?? '');
      // Parse: the statement's name, then its SQL.
      if (type === 'P') queries.push(strings[1] ?? '');
    }
    pair.pending = pair.pending.subarray(typed + length);
  }
  return queries;
}

export async function startFaultProxy(target: { host: string; port: number }, mode: FaultMode = 'pass') {
  const pairs = new Set<Pair>();
  let accepted = 0;
  let stalledQueries = 0;
  const state: { mode: FaultMode; stallPattern?: RegExp; beforeForwarding?: () => Promise<void> } = { mode };

  const server = net.createServer({ allowHalfOpen: true }, (client) => {
    accepted++;
    const pair: Pair = {
      client,
      pending: Buffer.alloc(0),
      started: false,
      answersStalled: false,
      opaque: false,
    };
    pairs.add(pair);
    client.on('error', () => {});
    const forget = () => {
      pairs.delete(pair);
      pair.upstream?.destroy();
    };
    client.on('close', forget);
    // The client's FIN ends our side too, except when the close is being lost.
    client.on('end', () => {
      if (state.mode !== 'drop-close') client.end();
    });
    if (state.mode === 'garbage') {
      let answered = false;
      client.on('data', () => {
        if (!answered) client.write(GARBAGE);
        answered = true;
      });
      return;
    }
    // Accepted, read (so its close is seen), never answered.
    if (state.mode === 'stall') {
      client.on('data', () => {});
      return;
    }
    const upstream = net.connect({ host: target.host, port: target.port, allowHalfOpen: true });
    pair.upstream = upstream;
    upstream.on('error', () => {});
    upstream.on('close', () => {
      // The server closed: the client learns it, unless the close is being lost.
      if (state.mode !== 'drop-close') client.destroy();
    });
    client.on('data', (chunk: Buffer) => {
      // Framed from the first byte, so a pattern set mid-connection still finds its messages.
      const queries = queriesIn(pair, chunk);
      const pattern = state.stallPattern;
      if (pattern && !pair.answersStalled && queries.some((sql) => pattern.test(sql))) {
        pair.answersStalled = true;
        stalledQueries++;
        if (state.beforeForwarding) {
          const held: Buffer[] = [];
          pair.held = held;
          const release = () => {
            pair.held = undefined;
            for (const bytes of held) if (!upstream.destroyed) upstream.write(bytes);
          };
          state.beforeForwarding().then(release, release);
        }
      }
      if (pair.held) pair.held.push(chunk);
      else if (state.mode !== 'stall' && !upstream.destroyed) upstream.write(chunk);
    });
    upstream.on('data', (chunk) => {
      if (state.mode !== 'stall' && !pair.answersStalled && !client.destroyed) client.write(chunk);
    });
    client.on('end', () => {
      // The client's FIN: forwarded as a close, or lost.
      if (state.mode !== 'drop-close') upstream.end();
    });
    upstream.on('end', () => {
      if (state.mode !== 'drop-close') client.end();
    });
  });

  const listen = () =>
    new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, '127.0.0.1', () => {
        server.off('error', reject);
        resolve();
      });
    });
  let port = 0;
  await listen();
  port = (server.address() as net.AddressInfo).port;

  const proxy: FaultProxy = {
    host: '127.0.0.1',
    port,
    get mode() {
      return state.mode;
    },
    set mode(next: FaultMode) {
      state.mode = next;
    },
    get accepted() {
      return accepted;
    },
    get stalledQueries() {
      return stalledQueries;
    },
    stallAnswersTo(pattern, beforeForwarding) {
      state.stallPattern = pattern;
      state.beforeForwarding = beforeForwarding;
    },
    openClients: () => [...pairs].filter((p) => !p.client.destroyed && !p.client.readableEnded).length,
    resetCounts() {
      accepted = 0;
    },
    cutAll() {
      for (const pair of pairs) {
        pair.client.destroy();
        pair.upstream?.destroy();
      }
    },
    stopListening: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        proxy.cutAll();
      }),
    listen,
    async close() {
      proxy.cutAll();
      if (server.listening) await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
  return proxy;
}
