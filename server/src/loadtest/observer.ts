import type pg from 'pg';
import type { PoolerFacts } from '../capacity/poolerFacts';
import { APPLICATION_NAME_PREFIX } from '../capacity/serverFacts';
import { type ConnectFailure, classifyFailure } from '../db/connectFailure';
import type { ConnectionTarget } from '../db/connectionTarget';
import { openConnection } from '../db/openConnection';

/** The observer's own name: under our prefix (so probes never count it as another client), not the run's. */
export const OBSERVER_APPLICATION_NAME = `${APPLICATION_NAME_PREFIX}observer`;

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
      const client = await openConnection(pooler ? { ...target, database: 'pgbouncer' } : target, {
        connectTimeoutMs,
        applicationName: OBSERVER_APPLICATION_NAME,
      });
      return { observer: new ServerObserver(client, serverKey, pooler !== undefined) };
    } catch (error) {
      return { failure: classifyFailure(error, target.password) };
    }
  }

  get alive(): boolean {
    return !this.dead;
  }

  /** The run's connections on this server, or undefined when the observer lost its server. */
  async count(applicationName: string): Promise<number | undefined> {
    if (this.dead) return undefined;
    try {
      if (this.throughPooler) {
        const clients = (await this.client.query(POOLER_COUNT_SQL)).rows;
        return clients.filter((row) => row.application_name === applicationName).length;
      }
      // A named statement is parsed and planned once per connection: each sample then costs the
      // server a fraction of a fresh parse of the view, which matters while backends start up.
      const result = await this.client.query({
        name: COUNT_STATEMENT,
        text: COUNT_SQL,
        values: [applicationName],
      });
      return result.rows[0].n as number;
    } catch {
      this.dead = true;
      return undefined;
    }
  }

  async close(): Promise<void> {
    this.dead = true;
    await this.client.end().catch(() => {});
  }
}
