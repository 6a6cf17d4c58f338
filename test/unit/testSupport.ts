import type { ServerFacts } from '../../server/src/core/capacity/serverFacts';

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
