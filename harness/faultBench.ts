/**
 * The fault tests' common ground: a throwaway cluster with the role `app`, a scratch folder of
 * workspaces whose project pool reaches a fault proxy (or the cluster), the proxies closed and
 * the server thawed after each test, and the built CLI with a bound so that a regression fails
 * its test instead of hanging the suite.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawnCli } from './cliProcess';
import { writePoolConfig } from './configFixture';
import { type FaultProxy, startFaultProxy } from './faultProxy';
import { type Cluster, startCluster } from './pgCluster';

export interface FaultBenchOptions {
  maxConnections: number;
  /** The role `app`'s password, written into the configs as is. */
  password: string;
  /** The scratch folder's name starts with this. */
  prefix: string;
  /** `swarm.maxAgents` of the configs. */
  maxAgents: number;
  /** Every CLI run is killed after this long. */
  childLimitMs: number;
}

export class FaultBench {
  cluster!: Cluster;
  root!: string;
  private readonly proxies: FaultProxy[] = [];
  private configs = 0;

  constructor(private readonly options: FaultBenchOptions) {}

  /** For before. */
  async start(): Promise<void> {
    this.cluster = await startCluster({ maxConnections: this.options.maxConnections });
    await this.cluster.createRole('app', { password: this.options.password });
    this.root = mkdtempSync(path.join(os.tmpdir(), this.options.prefix));
  }

  /** For afterEach: the server thawed, the test's proxies closed. */
  async afterEach(): Promise<void> {
    await this.cluster.thaw();
    await Promise.all(this.proxies.splice(0).map((p) => p.close()));
  }

  /** For after. */
  async stop(): Promise<void> {
    await this.cluster?.stop();
    if (this.root) rmSync(this.root, { recursive: true, force: true });
  }

  /** A config whose project pool reaches `port` (a proxy or the cluster itself); returns its path. */
  writeConfig(port: number, poolSize: number | string = 5): string {
    return writePoolConfig(path.join(this.root, `ws${++this.configs}`), {
      maxAgents: this.options.maxAgents,
      backend: false,
      project: { port, password: this.options.password, poolSize },
    });
  }

  /** A fault proxy in front of the cluster, closed after the test. */
  async proxy(mode: Parameters<typeof startFaultProxy>[1] = 'pass'): Promise<FaultProxy> {
    const p = await startFaultProxy({ host: this.cluster.host, port: this.cluster.port }, mode);
    this.proxies.push(p);
    return p;
  }

  /** The CLI in the scratch folder; the password file is one nobody has: the configs give every password. */
  startCli(args: string[]) {
    return spawnCli(args, {
      cwd: this.root,
      env: { PGPASSFILE: '/nonexistent' },
      timeoutMs: this.options.childLimitMs,
    });
  }
}
