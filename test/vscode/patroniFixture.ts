// The Patroni fixture of the VS Code suite: one real 3-member Patroni + etcd cluster, started only
// for the `patroni` window, and a workspace whose config uses it (mode patroni-ha). The suite inside
// the extension host learns the REST API addresses from PATRONI_FIXTURE_ENV.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { PATRONI_FIXTURE_ENV, type PatroniFixtureInfo } from '../../harness/fixtureInfo';
import { type PatroniCluster, startPatroniCluster } from '../../harness/patroniCluster';

const PASSWORD = 'patroni-suite-secret-4';

export interface PatroniFixture {
  cluster: PatroniCluster;
  info: PatroniFixtureInfo;
  env(): Record<string, string>;
  stop(): Promise<void>;
}

export async function startPatroniFixture(log?: (line: string) => void): Promise<PatroniFixture> {
  const cluster = await startPatroniCluster({ log });
  try {
    const leader = (await cluster.leader()).name;
    await cluster.sql(leader, `CREATE ROLE dpg_cluster LOGIN PASSWORD '${PASSWORD}'`);
    await cluster.sql(leader, 'CREATE DATABASE distributed_postgres_cluster OWNER dpg_cluster');
    const info: PatroniFixtureInfo = {
      apiHosts: cluster.apiHosts,
      members: cluster.members.map((m) => ({ name: m.name, apiPort: m.apiPort, pgPort: m.pgPort })),
    };
    return {
      cluster,
      info,
      env: () => ({ [PATRONI_FIXTURE_ENV]: JSON.stringify(info) }),
      stop: () => cluster.stop(),
    };
  } catch (error) {
    await cluster.stop();
    throw error;
  }
}

/** Writes `<root>/<name>/.claude-flow/config.yaml` (layout B, mode patroni-ha) and its `.env`. */
export function writePatroniWorkspace(root: string, name: string, info: PatroniFixtureInfo): string {
  const folder = path.join(root, name);
  fs.mkdirSync(path.join(folder, '.claude-flow'), { recursive: true });
  const config = [
    '# Pool Capacity Patroni fixture: written by test/vscode/patroniFixture.ts',
    'swarm:',
    '  maxAgents: 8',
    'memory:',
    '  postgresql:',
    '    mode: patroni-ha',
    '    patroni:',
    '      enabled: true',
    `      apiHosts: [${info.apiHosts.map((h) => `"${h}"`).join(', ')}]`,
    '      database: distributed_postgres_cluster',
    '      user: dpg_cluster',
    '      password: ${PATRONI_PASSWORD}',
    '      minConnections: 2',
    '      maxConnections: 10',
    '      apiTimeout: 2',
    '      failoverTimeout: 30',
    '',
  ].join('\n');
  fs.writeFileSync(path.join(folder, '.claude-flow', 'config.yaml'), config);
  fs.writeFileSync(path.join(folder, '.env'), `PATRONI_PASSWORD=${PASSWORD}\n`);
  return folder;
}
