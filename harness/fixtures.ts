// Fixture workspaces against a throwaway PostgreSQL, shared by the VS Code suite runner, the browser
// e2e tests and the `npm start` demo. The suite inside the extension host learns the details from
// one environment variable (FIXTURE_ENV), which code-server passes down to the extension host.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { FIXTURE_ENV, type FixtureInfo, type PoolFixture } from './fixtureInfo';
import { type Cluster, startCluster } from './pgCluster';

export { FIXTURE_ENV, type FixtureInfo, type PoolFixture };

export interface FixtureDatabase {
  cluster: Cluster;
  info: FixtureInfo;
  /** Environment for code-server (and so the extension host): the fixture as JSON. */
  env(): Record<string, string>;
  stop(): Promise<void>;
}

export interface FixtureOptions {
  /** Server max_connections; default 20. */
  maxConnections?: number;
  /** Project pool size; default twice max_connections, so `pool-exceeds-server` fires. */
  projectPoolSize?: number;
  sharedPoolSize?: number;
  log?: (line: string) => void;
}

/** Starts PostgreSQL with two application roles and databases the fixture configs point at. */
export async function startFixtureDatabase(options: FixtureOptions = {}): Promise<FixtureDatabase> {
  const maxConnections = options.maxConnections ?? 20;
  const cluster = await startCluster({ maxConnections, superuserReservedConnections: 3, log: options.log });
  try {
    const project: PoolFixture = {
      database: 'pool_demo',
      user: 'pool_app',
      password: 'app-secret-1',
      passwordVar: 'POOL_APP_PASSWORD',
      poolSize: options.projectPoolSize ?? maxConnections * 2,
      poolSizeLine: -1,
    };
    const shared: PoolFixture = {
      database: 'pool_shared',
      user: 'pool_shared_user',
      password: 'shared-secret-2',
      passwordVar: 'SHARED_DB_PASSWORD',
      poolSize: options.sharedPoolSize ?? 3,
      poolSizeLine: -1,
    };
    for (const pool of [project, shared]) {
      await cluster.createRole(pool.user, { password: pool.password });
      await cluster.createDatabase(pool.database, { owner: pool.user });
    }
    const info: FixtureInfo = {
      host: cluster.host,
      port: cluster.port,
      superuser: cluster.superuser,
      superuserPassword: cluster.superuserPassword,
      maxConnections,
      superuserReservedConnections: 3,
      project,
      shared,
      workspaces: {},
    };
    return {
      cluster,
      info,
      env: () => ({ [FIXTURE_ENV]: JSON.stringify(info) }),
      stop: () => cluster.stop(),
    };
  } catch (error) {
    await cluster.stop();
    throw error;
  }
}

/** The Layout A config for the fixture; fills in each pool's `poolSizeLine`. */
export function configText(info: FixtureInfo): string {
  const pool = (name: string, p: PoolFixture) => [
    `    ${name}:`,
    `      host: ${info.host}`,
    `      port: ${info.port}`,
    `      database: ${p.database}`,
    `      user: ${p.user}`,
    `      password: \${${p.passwordVar}}`,
    `      namespace: ${name}-demo`,
    `      poolSize: ${p.poolSize}`,
    '      maxRetries: 3',
    '      connectionTimeout: 5000',
  ];
  const lines = [
    '# Pool Capacity fixture: written by harness/fixtures.ts',
    'swarm:',
    '  maxAgents: 8',
    'memory:',
    '  backend: postgresql',
    '  postgresql:',
    ...pool('project', info.project),
    ...pool('shared', info.shared),
    '',
  ];
  info.project.poolSizeLine = lines.indexOf(`      poolSize: ${info.project.poolSize}`);
  info.shared.poolSizeLine = lines.lastIndexOf(`      poolSize: ${info.shared.poolSize}`);
  return lines.join('\n');
}

/** Writes `<root>/<name>/.claude-flow/config.yaml` and its `.env`; records the folder in `info`. */
export function writeWorkspace(root: string, name: string, info: FixtureInfo): string {
  const folder = path.join(root, name);
  fs.mkdirSync(path.join(folder, '.claude-flow'), { recursive: true });
  fs.writeFileSync(path.join(folder, '.claude-flow', 'config.yaml'), configText(info));
  fs.writeFileSync(
    path.join(folder, '.env'),
    `${info.project.passwordVar}=${info.project.password}\n${info.shared.passwordVar}=${info.shared.password}\n`,
  );
  info.workspaces[name] = folder;
  return folder;
}
