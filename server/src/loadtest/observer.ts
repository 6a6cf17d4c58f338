import type pg from 'pg';
import { APPLICATION_NAME_PREFIX } from '../capacity/serverFacts';
import { type ConnectFailure, classifyFailure } from '../db/connectFailure';
import type { ConnectionTarget } from '../db/connectionTarget';
import { openConnection } from '../db/openConnection';

/** The observer's own name: under our prefix (so probes never count it as another client), not the run's. */
export const OBSERVER_APPLICATION_NAME = `${APPLICATION_NAME_PREFIX}observer`;

const COUNT_SQL = 'SELECT count(*)::int AS n FROM pg_stat_activity WHERE application_name = $1';

/**
 * One extra connection per server that counts a run's connections in pg_stat_activity
 * (application_name is visible for every role's rows, so no monitoring privilege is needed).
 */
export class ServerObserver {
  private dead = false;

  private constructor(
    private readonly client: pg.Client,
    readonly serverKey: string,
  ) {
    client.on('end', () => {
      this.dead = true;
    });
  }

  static async open(
    serverKey: string,
    target: ConnectionTarget,
    connectTimeoutMs: number,
  ): Promise<{ observer?: ServerObserver; failure?: ConnectFailure }> {
    try {
      const client = await openConnection(target, {
        connectTimeoutMs,
        applicationName: OBSERVER_APPLICATION_NAME,
      });
      return { observer: new ServerObserver(client, serverKey) };
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
      return (await this.client.query(COUNT_SQL, [applicationName])).rows[0].n as number;
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
