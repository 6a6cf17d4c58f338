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
  stopListening(): Promise<void>;
  listen(): Promise<void>;
  close(): Promise<void>;
}

const GARBAGE = Buffer.from('HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n\x00\xff\xfe garbage');

interface Pair {
  client: net.Socket;
  upstream?: net.Socket;
}

export async function startFaultProxy(target: { host: string; port: number }, mode: FaultMode = 'pass') {
  const pairs = new Set<Pair>();
  let accepted = 0;
  const state = { mode };

  const server = net.createServer({ allowHalfOpen: true }, (client) => {
    accepted++;
    const pair: Pair = { client };
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
    client.on('data', (chunk) => {
      if (state.mode !== 'stall' && !upstream.destroyed) upstream.write(chunk);
    });
    upstream.on('data', (chunk) => {
      if (state.mode !== 'stall' && !client.destroyed) client.write(chunk);
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
