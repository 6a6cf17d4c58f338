/**
 * The benchmark's throwaway server: one cluster (so both roles meet the same binary and settings)
 * with a trust role and a SCRAM role, told apart by per-role pg_hba lines.
 */
import { randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { type Cluster, startCluster } from '../harness/pgCluster';
import type { ConnectionTarget } from '../server/src/core/connection/connectionTarget';

export type AuthKind = 'trust' | 'scram';

export interface BenchServer {
  cluster: Cluster;
  /** The database both roles use. */
  database: string;
  targets: Record<AuthKind, ConnectionTarget>;
  /** e.g. "15.18" */
  serverVersion: string;
  maxConnections: number;
}

/** N=90 at once plus the engine's probe and observer, the harness' admin connection and room to spare. */
const MAX_CONNECTIONS = 120;
const DATABASE = 'bench';

export async function startBenchServer(log: (line: string) => void): Promise<BenchServer> {
  const cluster = await startCluster({ maxConnections: MAX_CONNECTIONS, authMethod: 'scram-sha-256', log });
  try {
    const scramPassword = randomBytes(12).toString('base64url');
    await cluster.createRole('bench_trust');
    await cluster.createRole('bench_scram', { password: scramPassword });
    await cluster.createDatabase(DATABASE, { owner: 'bench_scram' });
    await cluster.sql(`GRANT ALL ON DATABASE ${DATABASE} TO bench_trust`);

    // First matching line wins: the trust role's line goes before the harness' SCRAM lines.
    const hba = path.join(cluster.dataDir, 'pg_hba.conf');
    writeFileSync(hba, `host all bench_trust 127.0.0.1/32 trust\n${readFileSync(hba, 'utf8')}`);
    await cluster.sql('SELECT pg_reload_conf()');
    const [rules] = await cluster.sql<{ bad: number; trust: number }>(
      `SELECT count(*) FILTER (WHERE error IS NOT NULL)::int AS bad,
              count(*) FILTER (WHERE 'bench_trust' = ANY(user_name) AND auth_method = 'trust')::int AS trust
         FROM pg_hba_file_rules`,
    );
    if (rules!.bad > 0 || rules!.trust !== 1)
      throw new Error(`pg_hba.conf reload failed: ${JSON.stringify(rules)}`);
    const [secret] = await cluster.sql<{ scram: boolean }>(
      `SELECT rolpassword LIKE 'SCRAM-SHA-256$%' AS scram FROM pg_authid WHERE rolname = 'bench_scram'`,
    );
    if (!secret?.scram) throw new Error('bench_scram has no SCRAM secret');
    const [version] = await cluster.sql<{ v: string }>(`SELECT current_setting('server_version') AS v`);

    const target = (user: string, password?: string): ConnectionTarget => ({
      host: cluster.host,
      port: cluster.port,
      database: DATABASE,
      user,
      ...(password !== undefined ? { password } : {}),
      ssl: { mode: 'disable' },
    });
    return {
      cluster,
      database: DATABASE,
      targets: { trust: target('bench_trust'), scram: target('bench_scram', scramPassword) },
      serverVersion: version!.v,
      maxConnections: MAX_CONNECTIONS,
    };
  } catch (error) {
    await cluster.stop();
    throw error;
  }
}

/** Waits until no client backend but the harness' admin connection is left, so runs do not overlap. */
export async function waitForQuietServer(server: BenchServer): Promise<void> {
  const left = await server.cluster.waitForConnections('', 0, { prefix: true, timeoutMs: 5_000 });
  if (left !== 0) throw new Error(`${left} connections still open on the bench server between runs`);
}
