/**
 * What a language-server test file sets up again and again: workspace folders holding a config
 * (and its .env), servers over stdio opened on them, and the cluster with the `app` role owning
 * layout A's two databases. Servers close after each test, so no earlier server's probe or status
 * connection is still on the cluster when a later test counts connections; folders go at the end.
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { LspSession, type LspSessionOptions } from './lspSession';
import { type Cluster, startCluster } from './pgCluster';

export interface LspWorkspace {
  dir: string;
  configPath: string;
  uri: string;
}

export class LspWorkspaces {
  private readonly sessions: LspSession[] = [];
  /** Removed by `removeAll`; a test may add files it made (reports) to go with them. */
  readonly dirs: string[] = [];

  /** A server on a workspace, closed by `closeSessions`. */
  session(options: LspSessionOptions): LspSession {
    const session = new LspSession(options);
    this.sessions.push(session);
    return session;
  }

  /** A new folder `<tmp>/<prefix>…` with `.claude-flow/config.yaml` and, when given, `.env`. */
  async workspace(prefix: string, config: string, dotenv?: string): Promise<LspWorkspace> {
    const dir = await mkdtemp(join(tmpdir(), prefix));
    this.dirs.push(dir);
    await mkdir(join(dir, '.claude-flow'));
    const configPath = join(dir, '.claude-flow', 'config.yaml');
    await writeFile(configPath, config);
    if (dotenv !== undefined) await writeFile(join(dir, '.env'), dotenv);
    return { dir, configPath, uri: pathToFileURL(configPath).toString() };
  }

  /** For afterEach: the servers opened so far, closed. */
  async closeSessions(): Promise<void> {
    await Promise.all(this.sessions.splice(0).map((s) => s.close()));
  }

  /** For after: the folders (and files) made so far, removed. */
  async removeAll(): Promise<void> {
    await Promise.all(this.dirs.map((d) => rm(d, { recursive: true, force: true })));
  }
}

/** A throwaway cluster with the role `app` (this password) owning `appdb` and `shareddb`. */
export async function startAppCluster(maxConnections: number, password: string): Promise<Cluster> {
  const cluster = await startCluster({ maxConnections });
  await cluster.createRole('app', { password });
  await cluster.createDatabase('appdb', { owner: 'app' });
  await cluster.createDatabase('shareddb', { owner: 'app' });
  return cluster;
}
