import { setMaxListeners } from 'node:events';
import type pg from 'pg';
import type { OnExhausted } from '../../../../shared/loadTest';
import type { ConnectionTarget } from '../../core/connection/connectionTarget';
import { abortError, CLOSE_TIMEOUT_MS, closeConnection, openConnection } from '../db/openConnection';

/** Thrown by a fail-fast pool when every connection is out (psycopg2's "connection pool exhausted"). */
export class PoolExhaustedError extends Error {
  readonly code = 'POOL_EXHAUSTED';
  constructor(max: number) {
    super(`connection pool exhausted (all ${max} connections in use)`);
    this.name = 'PoolExhaustedError';
  }
}

/** Thrown by a waiting pool when no connection came back within the acquire timeout. */
export class AcquireTimeoutError extends Error {
  readonly code = 'ACQUIRE_TIMEOUT';
  constructor(max: number, timeoutMs: number) {
    super(`no pooled connection within ${timeoutMs} ms (all ${max} in use)`);
    this.name = 'AcquireTimeoutError';
  }
}

/** One open server connection as the engine tracks it. */
export class TrackedConnection {
  /** Set once the connection died under us (server gone, backend terminated). */
  brokenBy?: Error;
  /** Settles (never rejects) with the error that ended the connection, so a hold can race it. */
  readonly lost: Promise<Error>;
  private ending = false;

  constructor(readonly client: pg.Client) {
    this.lost = new Promise<Error>((resolve) => {
      const onLost = (error?: Error) => {
        if (this.ending) return;
        this.brokenBy ??=
          error ?? Object.assign(new Error('Connection terminated unexpectedly'), { code: 'ECONNRESET' });
        resolve(this.brokenBy);
      };
      client.on('error', onLost);
      client.on('end', () => onLost());
    });
  }

  /** Ends within boundMs whatever the server does (then the socket is destroyed). */
  async close(boundMs = CLOSE_TIMEOUT_MS): Promise<void> {
    this.ending = true;
    await closeConnection(this.client, boundMs);
  }
}

/** What an agent holds while it works. */
export interface Lease {
  connection: TrackedConnection;
  /** True when a new server connection was opened for this agent (cold), false for a pooled one (warm). */
  cold: boolean;
  /**
   * From the acquire call to the lease being ready, measured where it became ready (not when the
   * agent's continuation ran), so a warm checkout reads microseconds as it really is.
   */
  waitedMs: number;
}

/** Hands agents connections and takes them back; `close` ends every connection it ever opened. */
export interface Connector {
  acquire(): Promise<Lease>;
  /** `discard` closes the connection instead of keeping it (it failed, or the agent leaks on purpose). */
  release(lease: Lease, discard?: boolean): void;
  /** Server connections currently open (idle, busy and still connecting). */
  openCount(): number;
  /** Abandons connects in flight and closes every connection, each within boundMs. */
  close(boundMs?: number): Promise<void>;
  /**
   * Connects from now on go to this server (a Patroni cluster's new leader); idle connections to
   * the old one are closed, connections out with agents end when they come back.
   */
  retarget(target: ConnectionTarget): void;
  /** Where connects go now. */
  currentTarget(): ConnectionTarget;
}

export interface ConnectOptions {
  target: ConnectionTarget;
  connectTimeoutMs: number;
  applicationName: string;
  /** Aborting rejects pending acquires and ends in-flight connects. */
  signal: AbortSignal;
}

/** Base: opens connections concurrently (never one at a time) and remembers every one until close. */
abstract class ConnectionSet implements Connector {
  protected readonly open = new Set<TrackedConnection>();
  private readonly connecting = new Set<Promise<unknown>>();
  /** Closes started by discard(): close() waits for them too (each is bounded). */
  private readonly closing = new Set<Promise<void>>();
  protected closed = false;
  /** Aborted by close() or the run's signal: connects in flight are abandoned at once. */
  private readonly stop = new AbortController();

  constructor(protected readonly options: ConnectOptions) {
    // Every connect in flight listens on it: hundreds of listeners are expected.
    setMaxListeners(0, this.stop.signal);
    if (options.signal.aborted) this.stop.abort();
    else options.signal.addEventListener('abort', () => this.stop.abort(), { once: true });
  }

  abstract acquire(): Promise<Lease>;
  abstract release(lease: Lease, discard?: boolean): void;

  openCount(): number {
    return this.open.size + this.connecting.size;
  }

  currentTarget(): ConnectionTarget {
    return this.options.target;
  }

  retarget(target: ConnectionTarget): void {
    this.options.target = target;
    this.generation++;
    this.onRetarget();
  }

  /** Bumped by retarget: a connection opened before it belongs to the old server. */
  protected generation = 0;
  protected readonly generationOf = new WeakMap<TrackedConnection, number>();

  protected onRetarget(): void {}

  protected async connect(): Promise<TrackedConnection> {
    if (this.closed || this.options.signal.aborted) throw abortError();
    const generation = this.generation;
    const attempt = openConnection(this.options.target, {
      connectTimeoutMs: this.options.connectTimeoutMs,
      applicationName: this.options.applicationName,
      signal: this.stop.signal,
    });
    this.connecting.add(attempt);
    try {
      const client = await attempt;
      const connection = new TrackedConnection(client);
      this.generationOf.set(connection, generation);
      if (this.closed) {
        // close() ran while this connect was in flight: it must not outlive the run.
        await connection.close();
        throw abortError();
      }
      this.open.add(connection);
      return connection;
    } finally {
      this.connecting.delete(attempt);
    }
  }

  protected discard(connection: TrackedConnection): void {
    this.open.delete(connection);
    const closing = connection.close();
    this.closing.add(closing);
    void closing.then(() => this.closing.delete(closing));
  }

  async close(boundMs = CLOSE_TIMEOUT_MS): Promise<void> {
    this.closed = true;
    this.stop.abort();
    this.onClose();
    // In-flight connects are abandoned by the abort (their sockets destroyed); they settle at once.
    await Promise.allSettled([...this.connecting]);
    const all = [...this.open];
    this.open.clear();
    await Promise.all([...all.map((c) => c.close(boundMs)), ...this.closing]);
  }

  protected onClose(): void {}
}

/** mode direct: every agent opens its own connection and closes it when done. */
export class DirectConnector extends ConnectionSet {
  async acquire(): Promise<Lease> {
    const t0 = performance.now();
    const connection = await this.connect();
    return { connection, cold: true, waitedMs: performance.now() - t0 };
  }

  release(lease: Lease): void {
    this.discard(lease.connection);
  }
}

export interface AgentPoolOptions extends ConnectOptions {
  max: number;
  /** Opened up front by warmUp, like psycopg2's minconn. */
  min: number;
  onExhausted: OnExhausted;
  acquireTimeoutMs: number;
}

interface Waiter {
  since: number;
  resolve: (lease: Lease) => void;
  reject: (error: Error) => void;
  timer: NodeJS.Timeout;
}

/**
 * mode pool: at most `max` connections. `fail` rejects at once when all are out, exactly like the
 * psycopg2 ThreadedConnectionPool our users' agents use, so N > max simultaneous agents give exactly
 * max successes; `wait` queues agents FIFO until a connection comes back or the acquire timeout passes.
 *
 * Returned connections stay open for the next agent (as node-postgres' pg.Pool keeps them for its
 * idle timeout, which outlasts any pause between bursts); psycopg2 instead closed those above minconn.
 */
export class AgentPool extends ConnectionSet {
  private readonly idle: TrackedConnection[] = [];
  private readonly waiters: Waiter[] = [];
  private opening = 0;

  constructor(private readonly poolOptions: AgentPoolOptions) {
    super(poolOptions);
  }

  /** Opens the pool's minimum at once; a failure here is left for the agents to meet. */
  async warmUp(): Promise<void> {
    const missing = Math.max(0, Math.min(this.poolOptions.min, this.poolOptions.max) - this.size());
    await Promise.allSettled(
      Array.from({ length: missing }, async () => {
        const connection = await this.reserveAndConnect();
        this.putIdle(connection);
      }),
    );
  }

  /** Synchronous up to the connect, so agents started in the same tick claim slots in order. */
  acquire(): Promise<Lease> {
    if (this.closed || this.poolOptions.signal.aborted) return Promise.reject(abortError());
    const since = performance.now();
    const warm = this.takeIdle();
    if (warm) return Promise.resolve({ connection: warm, cold: false, waitedMs: performance.now() - since });
    if (this.size() < this.poolOptions.max) {
      return this.reserveAndConnect().then((connection) => ({
        connection,
        cold: true,
        waitedMs: performance.now() - since,
      }));
    }
    if (this.poolOptions.onExhausted === 'fail')
      return Promise.reject(new PoolExhaustedError(this.poolOptions.max));
    return new Promise<Lease>((resolve, reject) => {
      const waiter: Waiter = {
        since,
        resolve,
        reject,
        timer: setTimeout(() => {
          this.removeWaiter(waiter);
          reject(new AcquireTimeoutError(this.poolOptions.max, this.poolOptions.acquireTimeoutMs));
        }, this.poolOptions.acquireTimeoutMs),
      };
      this.waiters.push(waiter);
    });
  }

  release(lease: Lease, discard = false): void {
    const { connection } = lease;
    const stale = this.generationOf.get(connection) !== this.generation;
    if (discard || stale || connection.brokenBy || this.closed) {
      this.discard(connection);
      this.slotFreed();
      return;
    }
    const waiter = this.waiters.shift();
    if (waiter) {
      clearTimeout(waiter.timer);
      waiter.resolve({ connection, cold: false, waitedMs: performance.now() - waiter.since });
      return;
    }
    this.putIdle(connection);
  }

  protected override onRetarget(): void {
    for (const connection of this.idle.splice(0)) {
      this.discard(connection);
      this.slotFreed();
    }
  }

  protected override onClose(): void {
    for (const waiter of this.waiters.splice(0)) {
      clearTimeout(waiter.timer);
      waiter.reject(abortError());
    }
    this.idle.length = 0;
  }

  /** Connections counted against max: open (idle or out) plus those still connecting. */
  private size(): number {
    return this.open.size + this.opening;
  }

  private async reserveAndConnect(): Promise<TrackedConnection> {
    this.opening++;
    try {
      return await this.connect();
    } catch (error) {
      // The slot is free again; a queued agent may use it.
      queueMicrotask(() => this.slotFreed());
      throw error;
    } finally {
      this.opening--;
    }
  }

  private putIdle(connection: TrackedConnection): void {
    this.idle.push(connection);
    // A connection that dies while idle leaves the pool at once.
    void connection.lost.then(() => {
      const at = this.idle.indexOf(connection);
      if (at >= 0) {
        this.idle.splice(at, 1);
        this.open.delete(connection);
        this.slotFreed();
      }
    });
  }

  private takeIdle(): TrackedConnection | undefined {
    // LIFO: the most recently used connection is the likeliest to be alive.
    for (let c = this.idle.pop(); c; c = this.idle.pop()) {
      if (!c.brokenBy) return c;
      this.discard(c);
    }
    return undefined;
  }

  /** With waiters queued and room under max, open a connection for the first of them. */
  private slotFreed(): void {
    if (this.closed || this.waiters.length === 0 || this.size() >= this.poolOptions.max) return;
    const waiter = this.waiters.shift()!;
    clearTimeout(waiter.timer);
    this.reserveAndConnect().then(
      (connection) => waiter.resolve({ connection, cold: true, waitedMs: performance.now() - waiter.since }),
      (error: Error) => waiter.reject(error),
    );
  }

  private removeWaiter(waiter: Waiter): void {
    const at = this.waiters.indexOf(waiter);
    if (at >= 0) this.waiters.splice(at, 1);
  }
}
