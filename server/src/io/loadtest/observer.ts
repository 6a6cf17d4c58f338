import type pg from 'pg';
import type { PoolerFacts } from '../../core/capacity/poolerFacts';
import { APPLICATION_NAME_PREFIX } from '../../core/capacity/serverFacts';
import { type ConnectFailure, classifyFailure } from '../../core/connection/connectFailure';
import type { ConnectionTarget } from '../../core/connection/connectionTarget';
import { CLOSE_TIMEOUT_MS, closeConnection, destroyConnection, openConnection } from '../db/openConnection';
import { ADMIN_DATABASE } from '../probe/poolerProbe';

/** The observer's own name: under our prefix (so probes never count it as another client), not the run's. */
export const OBSERVER_APPLICATION_NAME = `${APPLICATION_NAME_PREFIX}observer`;

/** At most this many samples per observer (a few thousand points draw the whole run). */
const MAX_SAMPLES = 4000;

const COUNT_SQL = 'SELECT count(*)::int AS n FROM pg_stat_activity WHERE application_name = $1';
const COUNT_STATEMENT = 'pool-capacity-observer-count';
/** Behind PgBouncer the run's connections are its clients; its server connections outlive them by design. */
const POOLER_COUNT_SQL = 'SHOW CLIENTS';

/**
 * One extra connection per server that counts a run's connections in pg_stat_activity
 * (application_name is visible for every role's rows, so no monitoring privilege is needed).
 */
export class ServerObserver {
  private dead = false;

  private constructor(
    private readonly client: pg.Client,
    readonly serverKey: string,
    private readonly throughPooler: boolean,
  ) {
    client.on('end', () => {
      this.dead = true;
    });
  }

  static async open(
    serverKey: string,
    target: ConnectionTarget,
    connectTimeoutMs: number,
    pooler?: PoolerFacts,
    signal?: AbortSignal,
  ): Promise<{ observer?: ServerObserver; failure?: ConnectFailure }> {
    if (pooler && !pooler.limits) {
      return {
        failure: {
          class: 'other',
          message: `behind PgBouncer, whose admin console role "${target.user}" may not read (stats_users)`,
        },
      };
    }
    try {
      const client = await openConnection(pooler ? { ...target, database: ADMIN_DATABASE } : target, {
        connectTimeoutMs,
        applicationName: OBSERVER_APPLICATION_NAME,
        signal,
      });
      return { observer: new ServerObserver(client, serverKey, pooler !== undefined) };
    } catch (error) {
      return { failure: classifyFailure(error, target.password) };
    }
  }

  /**
   * The counts read, in order (epoch ms): the report's connections-over-time chart. Bounded: the
   * sampler reads every 20 ms for runs of up to an hour, and a chart needs a few thousand points, so
   * past MAX_SAMPLES every other sample is dropped and later counts are kept at the wider stride
   * (the peak is kept apart, so none is lost for the verdict).
   */
  readonly samples: { at: number; connections: number }[] = [];
  private sampleStride = 1;
  private countsSinceSample = 0;

  private sampled(connections: number): number {
    if (++this.countsSinceSample >= this.sampleStride) {
      this.countsSinceSample = 0;
      this.samples.push({ at: Date.now(), connections });
      if (this.samples.length >= MAX_SAMPLES) {
        const kept = this.samples.filter((_, i) => i % 2 === 0);
        this.samples.splice(0, this.samples.length, ...kept);
        this.sampleStride *= 2;
      }
    }
    return connections;
  }

  get alive(): boolean {
    return !this.dead;
  }

  /**
   * The run's connections on this server, or undefined when the observer lost its server. Past
   * `deadlineMs` (else the query timeout) the observer gives up on its connection: a frozen server
   * must not hold up the end of a run.
   */
  async count(applicationName: string, deadlineMs?: number): Promise<number | undefined> {
    if (this.dead) return undefined;
    if (deadlineMs === undefined) return this.query(applicationName);
    let timer: NodeJS.Timeout | undefined;
    const expired = new Promise<undefined>((resolve) => {
      timer = setTimeout(
        () => {
          this.dead = true;
          destroyConnection(this.client);
          resolve(undefined);
        },
        Math.max(0, deadlineMs),
      );
    });
    try {
      return await Promise.race([this.query(applicationName), expired]);
    } finally {
      clearTimeout(timer);
    }
  }

  private async query(applicationName: string): Promise<number | undefined> {
    try {
      if (this.throughPooler) {
        // Rows as arrays: a big run lists a thousand clients per sample, and an object per row
        // (with a key per column) is most of what the CLI's memory then holds.
        const result = await this.client.query({ text: POOLER_COUNT_SQL, rowMode: 'array' });
        const at = result.fields.findIndex((field) => field.name === 'application_name');
        return this.sampled(at < 0 ? 0 : result.rows.filter((row) => row[at] === applicationName).length);
      }
      // A named statement is parsed and planned once per connection: each sample then costs the
      // server a fraction of a fresh parse of the view, which matters while backends start up.
      const result = await this.client.query({
        name: COUNT_STATEMENT,
        text: COUNT_SQL,
        values: [applicationName],
      });
      return this.sampled(result.rows[0].n as number);
    } catch {
      this.dead = true;
      return undefined;
    }
  }

  /** Ends within boundMs whatever the server does. */
  async close(boundMs = CLOSE_TIMEOUT_MS): Promise<void> {
    this.dead = true;
    await closeConnection(this.client, boundMs);
  }
}
