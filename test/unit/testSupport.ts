import type { PoolerFacts } from '../../server/src/core/capacity/poolerFacts';
import type { PoolOutcomes } from '../../server/src/core/capacity/rules';
import type { ServerFacts } from '../../server/src/core/capacity/serverFacts';
import { resolveConfig } from '../../server/src/io/config/configFiles';

/** Facts as a probe would read them from a plain role on a quiet server. */
export function facts(overrides: Partial<ServerFacts> = {}): ServerFacts {
  return {
    serverVersion: '15.18',
    serverVersionNum: 150018,
    maxConnections: 100,
    superuserReserved: 3,
    reserved: 0,
    isSuperuser: false,
    mayUseReserved: false,
    roleLimit: -1,
    databaseLimit: -1,
    usedByOthers: 0,
    roleInUse: 0,
    databaseInUse: 0,
    usageVisibility: 'all roles',
    readAt: 1_700_000_000_000,
    ...overrides,
  };
}

/** A PgBouncer in transaction mode with 100 client slots and no other clients, as SHOW CONFIG would read it. */
export function pgBouncerFacts(overrides: Partial<NonNullable<PoolerFacts['limits']>> = {}): PoolerFacts {
  return {
    kind: 'pgbouncer',
    backendPort: 5433,
    limits: {
      maxClientConn: 100,
      otherClients: 0,
      poolMode: 'transaction',
      poolSize: 20,
      reservePool: 0,
      maxDbConnections: 0,
      maxUserConnections: 0,
      serverConnections: 0,
      ...overrides,
    },
  };
}

/** The offset range of the n-th occurrence (0-based) of `needle` in `text`. */
export function rangeOf(text: string, needle: string, occurrence = 0): { start: number; end: number } {
  let start = -1;
  for (let i = 0; i <= occurrence; i++) {
    start = text.indexOf(needle, start + 1);
    if (start < 0) throw new Error(`"${needle}" occurs fewer than ${occurrence + 1} times`);
  }
  return { start, end: start + needle.length };
}

export const LAYOUT_A = `# Claude Flow config
swarm:
  maxAgents: 35
memory:
  backend: postgresql
  enableHNSW: true
  postgresql:
    project:
      host: db.internal
      port: 5432
      database: distributed_postgres_cluster
      user: dpg_cluster
      password: \${DPG_CLUSTER_PASSWORD}
      namespace: distributed-postgres-cluster
      poolSize: 40
      maxRetries: 3
      connectionTimeout: 5000
    shared:
      host: db.internal
      port: 5432
      database: claude_flow_shared
      user: shared_user
      password: \${SHARED_DB_PASSWORD}
      poolSize: 15
hooks:
  enabled: true
`;

export const LAYOUT_B = `memory:
  postgresql:
    mode: single-node
    singleNode:
      project:
        host: localhost
        database: project_db
        poolSize: 30
        minConnections: 2
      shared:
        host: localhost
        database: shared_db
        poolSize: 10
    patroni:
      enabled: false
      apiHosts: [10.0.0.1, 10.0.0.2]
      apiPort: 8008
      minConnections: 2
      maxConnections: 20
`;

/** LAYOUT_A (or a variant) resolved with stand-in passwords for its two pools. */
export const loadLayoutA = (text: string) =>
  resolveConfig('/x/.claude-flow/config.yaml', text, {
    DPG_CLUSTER_PASSWORD: 'pw-1',
    SHARED_DB_PASSWORD: 'pw-2',
  });

/** Both of LAYOUT_A's pools probed, with the same facts. */
export const bothPools = (f: ServerFacts): PoolOutcomes => ({
  project: { ok: true, facts: f },
  shared: { ok: true, facts: f },
});

/** The `npm start` demo's shape: project 40 + shared 3, 8 agents. */
export const DEMO_LAYOUT = LAYOUT_A.replace('maxAgents: 35', 'maxAgents: 8').replace(
  'poolSize: 15',
  'poolSize: 3',
);
