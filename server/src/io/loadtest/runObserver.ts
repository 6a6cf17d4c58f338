/**
 * The run's view from the server side: one ServerObserver per server, opened before the agents.
 * It owns the peak (sampled while the run goes on, and once the moment a phase's agents all have
 * their connection), the count after each sustained round, and the final count of the run's
 * connections left on the servers, with the notes on what it could not count.
 */
import type { LoadTestReport } from '../../../../shared/loadTest';
import { FAILURE_LABELS } from '../../core/connection/connectFailure';
import type { PlannedServer } from '../../core/loadtest/plan';
import { ServerObserver } from './observer';
import { pause, untilAborted, withDeadline } from './waits';

/** How long counting the run's leftover connections may take after a normal end, and after a cancel. */
export const LEFTOVER_COUNT_MS = 2000;
export const CANCEL_COUNT_MS = 500;

export class RunObserver {
  /** Every observer opened, those reopened for the final count included. */
  private readonly observers: ServerObserver[] = [];
  /** Observers of servers the run left (a failover): their samples stay in the report. */
  private readonly retired: ServerObserver[] = [];
  /** What the observer could not see, in the order it found out: the report's reasons carry them. */
  readonly notes: string[] = [];
  /** The most connections of the run seen on the servers at once. */
  peak = 0;
  private sampling = false;
  private sampler: Promise<void> = Promise.resolve();
  private readonly peakSamples: Promise<void>[] = [];

  /**
   * `signal` is the run's: while it goes on, a count ends with the cancel, as a frozen server
   * must not hold the run up.
   */
  constructor(
    private readonly servers: ReadonlyMap<string, PlannedServer>,
    private readonly applicationName: string,
    private readonly connectTimeoutMs: number,
    private readonly signal: AbortSignal,
  ) {}

  /** One observer per server, opened before the agents so it has its slot. */
  async open(): Promise<void> {
    for (const [key, { pool, pooler }] of this.servers) {
      if (this.signal.aborted) break;
      const opened = await ServerObserver.open(key, pool.target, this.connectTimeoutMs, pooler, this.signal);
      if (opened.observer) this.observers.push(opened.observer);
      else if (!this.signal.aborted)
        this.notes.push(`no observer connection on ${key} (${opened.failure?.message}): peak not sampled`);
    }
  }

  /** The run's connections over all servers, or undefined when one could not be counted (or on cancel). */
  async count(): Promise<number | undefined> {
    const counts = await untilAborted(
      Promise.all(this.observers.map((o) => o.count(this.applicationName))),
      this.signal,
    );
    if (!counts || counts.some((c) => c === undefined)) return undefined;
    return counts.reduce<number>((a, b) => a + (b ?? 0), 0);
  }

  /**
   * Samples the run's connections on the server while it runs, for the peak. The first sample,
   * before any agent starts, also pays the observer's first-query costs (catalog caches, the
   * statement's plan) ahead of the run instead of during its connect burst.
   */
  async startSampling(): Promise<void> {
    if (this.observers.length > 0) this.peak = (await this.count()) ?? 0;
    this.sampling = this.observers.length > 0 && !this.signal.aborted;
    this.sampler = this.sample();
  }

  private async sample(): Promise<void> {
    while (this.sampling) {
      const t0 = performance.now();
      const n = await this.count();
      if (n === undefined) break;
      this.peak = Math.max(this.peak, n);
      // A sample that takes long (PgBouncer's SHOW CLIENTS lists every client: a thousand rows
      // in a big run) is spaced out in proportion, so sampling takes no more than about a third
      // of the time (and of the garbage collector's) from the run it measures.
      await pause(Math.max(20, 2 * (performance.now() - t0)), this.signal);
    }
  }

  /**
   * The run moved to another server (a Patroni cluster's new leader): observe it from now on, for
   * the peak, the rounds' counts and the leftover count. Observers whose server went away stop
   * counting (their samples stay in the report); the sampler, stopped by them, starts again.
   */
  async follow(key: string, server: PlannedServer): Promise<void> {
    if (this.observers.some((o) => o.serverKey === key && o.alive)) return;
    (this.servers as Map<string, PlannedServer>).set(key, server);
    this.retired.push(...this.observers.filter((o) => !o.alive));
    this.observers.splice(0, this.observers.length, ...this.observers.filter((o) => o.alive));
    const opened = await ServerObserver.open(
      key,
      server.pool.target,
      this.connectTimeoutMs,
      server.pooler,
      this.signal,
    );
    if (opened.observer) this.observers.push(opened.observer);
    else if (!this.signal.aborted)
      this.notes.push(`no observer connection on ${key} (${opened.failure?.message}): peak not sampled`);
    if (this.sampling) this.sampler = this.sampler.then(() => this.sample());
  }

  /**
   * The periodic sampler can miss a short peak (agents holding briefly, a busy machine): the
   * phases also call this the moment every agent of a phase has its connection or has failed to get one.
   */
  samplePeakNow(): void {
    if (!this.sampling) return;
    this.peakSamples.push(
      this.count().then((n) => {
        if (n !== undefined) this.peak = Math.max(this.peak, n);
      }),
    );
  }

  stopSampling(): void {
    this.sampling = false;
  }

  /**
   * The run's connections on the server once closed ones have gone: backend exit is asynchronous,
   * so poll (briefly) until the server count is no more than what the run still holds open.
   */
  async countAfterRound(heldOpen: () => number, timeoutMs = 500): Promise<number | undefined> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const n = await this.count();
      if (n === undefined || n <= heldOpen() || Date.now() >= deadline) {
        if (n !== undefined) this.peak = Math.max(this.peak, n);
        return n;
      }
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }

  /**
   * The run's connections left on its servers once its own are closed. It has its own deadline,
   * short after a cancel: whatever the server does, the run ends soon after its connections close.
   * A server without a live observer gets a new one for this count.
   */
  async countLeftover(): Promise<number> {
    const boundMs = this.signal.aborted ? CANCEL_COUNT_MS : LEFTOVER_COUNT_MS;
    const deadline = Date.now() + boundMs;
    const remaining = () => Math.max(0, deadline - Date.now());
    const giveUp = new AbortController();
    const giveUpTimer = setTimeout(() => giveUp.abort(), remaining());
    let leftover = 0;
    try {
      await withDeadline(Promise.all([this.sampler, ...this.peakSamples]), remaining());
      const counting = await Promise.all(
        [...this.servers].map(([key, { pool, pooler }]) =>
          this.observerFor(key, pool, pooler, giveUp.signal),
        ),
      );
      for (const { key, observer, failure } of counting) {
        if (!observer) {
          this.notes.push(
            failure && ['connection-refused', 'server-starting'].includes(failure.class)
              ? `${key} was down after the run (${FAILURE_LABELS[failure.class]}), so none of the run's connections remain on it`
              : `could not count the run's connections left on ${key} (${failure?.class === 'cancelled' ? `no answer within ${boundMs} ms` : (failure?.message ?? 'no observer')})`,
          );
          continue;
        }
        leftover += await this.settledLeftover(key, observer, remaining);
      }
    } finally {
      clearTimeout(giveUpTimer);
    }
    return leftover;
  }

  /** The live observer on a server, or a new one (bounded by `signal`). */
  private async observerFor(
    key: string,
    pool: PlannedServer['pool'],
    pooler: PlannedServer['pooler'],
    signal: AbortSignal,
  ) {
    const existing = this.observers.find((o) => o.serverKey === key && o.alive);
    if (existing) return { key, observer: existing };
    const reopened = await ServerObserver.open(
      key,
      pool.target,
      Math.min(this.connectTimeoutMs, 2000),
      pooler,
      signal,
    );
    if (reopened.observer) this.observers.push(reopened.observer);
    return { key, observer: reopened.observer, failure: reopened.failure };
  }

  /** Backends exit asynchronously after the client closes: poll briefly for them to go. */
  private async settledLeftover(
    key: string,
    observer: ServerObserver,
    remaining: () => number,
  ): Promise<number> {
    for (;;) {
      const n = await observer.count(this.applicationName, remaining());
      if (n === undefined) {
        this.notes.push(`lost the observer on ${key} while counting leftover connections`);
        return 0;
      }
      if (n === 0 || remaining() <= 20) return n;
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }

  /** Observer connections opened on a server (they take slots the agents then cannot). */
  connectionsOn(key: string): number {
    return this.observers.filter((o) => o.serverKey === key).length;
  }

  /** Every count read, per server: the report's connections-over-time chart. */
  samples(): NonNullable<LoadTestReport['samples']> {
    return [...this.retired, ...this.observers].flatMap((o) =>
      o.samples.map((sample) => ({ server: o.serverKey, ...sample })),
    );
  }

  /** Ends within boundMs whatever the servers do. */
  async close(boundMs: number): Promise<void> {
    this.sampling = false;
    await Promise.all([...this.retired, ...this.observers].map((o) => o.close(boundMs)));
  }
}
