// `npm start`: the product on an embedded default. Builds the extension, starts a throwaway PostgreSQL,
// writes a demo workspace pointing at it (one pool deliberately too big for the server), starts
// code-server with the extension loaded from this folder, and prints the URL to open. Ctrl-C (or
// SIGTERM) stops everything and leaves nothing running or listening.
//
//   npm start [-- --port 8080] [-- --host 0.0.0.0] [-- --skip-build] [-- --max-connections 20]
//
// Everything it starts works in one state directory (.run/demo/, or POOL_CAPACITY_DEMO_DIR) or, for
// PostgreSQL, in a directory named after it (harness/processes.ts), and state.json records it. A run
// killed without its clean-up (kill -9, a closed terminal) leaves PostgreSQL and code-server behind:
// the next run finds them by their working directories and stops them before it starts anything.
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { isLoopbackHost, type RunningCodeServer, repoRoot, startCodeServer } from '../harness/codeServer';
import { type FixtureDatabase, startFixtureDatabase, writeWorkspace } from '../harness/fixtures';
import { demoPostgresRoot, findLeftovers, isAlive, stopProcesses } from '../harness/processes';

export const defaultStateDir = path.join(repoRoot, '.run', 'demo');

/** What state.json records: this run's process and what it started. */
export interface DemoState {
  pid: number;
  startedAt: string;
  postgres?: { pid?: number; port: number; dataDir: string };
  codeServer?: { pid: number; port: number; url: string };
}

function say(line: string): void {
  process.stdout.write(`[start] ${line}\n`);
}

/** The workbench URL that opens `folder` and its config with the extension loaded from the repository. */
export function workbenchUrl(baseUrl: string, authority: string, folder: string, file: string): string {
  const payload = [
    ['extensionDevelopmentPath', `vscode-remote://${authority}${repoRoot}`],
    ['openFile', `vscode-remote://${authority}${file}`],
  ];
  return `${baseUrl}/?folder=${encodeURIComponent(folder)}&payload=${encodeURIComponent(JSON.stringify(payload))}`;
}

interface StartArgs {
  host: string;
  port?: number;
  skipBuild: boolean;
  maxConnections: number;
  stateDir: string;
}

function parseStartArgs(argv: string[]): StartArgs {
  const { values } = parseArgs({
    args: argv,
    options: {
      host: { type: 'string' },
      port: { type: 'string' },
      'skip-build': { type: 'boolean' },
      'max-connections': { type: 'string' },
    },
  });
  const whole = (name: string, value: string | undefined, min: number, max: number) => {
    if (value === undefined) return undefined;
    const n = Number(value);
    if (!Number.isInteger(n) || n < min || n > max)
      throw new Error(`--${name} must be a whole number from ${min} to ${max}, not "${value}"`);
    return n;
  };
  return {
    host: values.host ?? '127.0.0.1',
    port: whole('port', values.port, 1, 65535),
    skipBuild: values['skip-build'] ?? false,
    maxConnections: whole('max-connections', values['max-connections'], 5, 10_000) ?? 20,
    stateDir: path.resolve(process.env.POOL_CAPACITY_DEMO_DIR ?? defaultStateDir),
  };
}

function readState(file: string): DemoState | undefined {
  try {
    return JSON.parse(fs.readFileSync(file, 'utf8')) as DemoState;
  } catch {
    return undefined;
  }
}

function writeState(file: string, state: DemoState): void {
  fs.writeFileSync(`${file}.tmp`, `${JSON.stringify(state, null, 2)}\n`);
  fs.renameSync(`${file}.tmp`, file);
}

/** Stops an earlier `npm start` still running from this state directory, and whatever a killed one left. */
async function stopEarlierRun(stateDir: string, stateFile: string): Promise<void> {
  const earlier = readState(stateFile);
  if (earlier && earlier.pid !== process.pid && isAlive(earlier.pid) && isStartProcess(earlier.pid)) {
    say(`an earlier npm start (pid ${earlier.pid}) is still running from ${stateDir}: stopping it`);
    await stopProcesses([earlier.pid], { graceMs: 20_000 });
  }
  const leftovers = findLeftovers(stateDir);
  if (leftovers.length > 0) {
    const names = [...new Set(leftovers.map((p) => p.name))].join(', ');
    say(`stopping what an earlier run left behind: ${leftovers.length} processes (${names})`);
    const stubborn = await stopProcesses(
      leftovers.map((p) => p.pid),
      { graceMs: 10_000 },
    );
    if (stubborn.length > 0) throw new Error(`could not stop leftover processes ${stubborn.join(', ')}`);
  } else if (earlier) {
    say('the earlier run left nothing running');
  }
  // Their directories: clusters and code-server run dirs (the cluster template is kept: it is reused).
  for (const dir of [path.join(stateDir, 'workspace')]) fs.rmSync(dir, { recursive: true, force: true });
  for (const name of safeReaddir(stateDir)) {
    if (name.startsWith('code-server-'))
      fs.rmSync(path.join(stateDir, name), { recursive: true, force: true });
  }
  const postgresRoot = demoPostgresRoot(stateDir);
  for (const name of safeReaddir(postgresRoot)) {
    if (/^pool-capacity-pg-(?!template)/.test(name))
      fs.rmSync(path.join(postgresRoot, name), { recursive: true, force: true });
  }
}

function safeReaddir(dir: string): string[] {
  try {
    return fs.readdirSync(dir);
  } catch {
    return [];
  }
}

function isStartProcess(pid: number): boolean {
  try {
    return fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('scripts/start.ts');
  } catch {
    return false;
  }
}

/** One line when the port is taken, before code-server would fail with a log full of it. */
function assertPortFree(host: string, port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', (error: NodeJS.ErrnoException) =>
      reject(
        new Error(
          error.code === 'EADDRINUSE'
            ? `port ${port} on ${host} is in use; choose another with --port`
            : `cannot listen on ${host}:${port}: ${error.message}`,
        ),
      ),
    );
    server.listen(port, host, () => server.close(() => resolve()));
  });
}

async function main(): Promise<void> {
  const started = Date.now();
  let args: StartArgs;
  try {
    args = parseStartArgs(process.argv.slice(2));
  } catch (error) {
    say(`failed: ${error instanceof Error ? error.message : error}`);
    process.exit(2);
  }
  const { stateDir } = args;
  const stateFile = path.join(stateDir, 'state.json');
  fs.mkdirSync(stateDir, { recursive: true });

  let db: FixtureDatabase | undefined;
  let server: RunningCodeServer | undefined;
  let stopping = false;
  const stopAll = async (why: string, exitCode = 0) => {
    if (stopping) return;
    stopping = true;
    say(`${why}: stopping code-server and PostgreSQL ...`);
    const results = await Promise.allSettled([server?.stop(), db?.stop()]);
    const failed = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
    for (const failure of failed) say(`could not stop cleanly: ${failure.reason}`);
    if (failed.length === 0 && readState(stateFile)?.pid === process.pid)
      fs.rmSync(stateFile, { force: true });
    say(failed.length === 0 ? 'stopped; nothing left running' : 'stopped with errors');
    process.exit(failed.length === 0 ? exitCode : 1);
  };
  // Registered before anything starts, so Ctrl-C during startup cleans up too. `on`, not `once`: the
  // PostgreSQL harness re-raises a signal nobody else listens for, which would kill us mid-cleanup.
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const)
    process.on(signal, () => void stopAll(signal));

  try {
    await stopEarlierRun(stateDir, stateFile);
    const state: DemoState = { pid: process.pid, startedAt: new Date().toISOString() };
    writeState(stateFile, state);
    const password = isLoopbackHost(args.host) ? undefined : randomBytes(18).toString('base64url');
    if (args.port !== undefined) await assertPortFree(args.host, args.port);
    if (!args.skipBuild) {
      const build = spawnSync('npm', ['run', 'build', '--silent'], { cwd: repoRoot, stdio: 'inherit' });
      if (build.status !== 0) throw new Error(`npm run build failed (exit ${build.status})`);
    }
    // Clusters in a directory of this demo's own, so a killed run's server is found there next time.
    process.env.POOL_CAPACITY_PG_TMPDIR = demoPostgresRoot(stateDir);
    fs.mkdirSync(process.env.POOL_CAPACITY_PG_TMPDIR, { recursive: true });
    fs.chmodSync(process.env.POOL_CAPACITY_PG_TMPDIR, 0o755);
    db = await startFixtureDatabase({ maxConnections: args.maxConnections });
    const postmasterPid = Number(
      fs.readFileSync(path.join(db.cluster.dataDir, 'postmaster.pid'), 'utf8').split('\n')[0],
    );
    state.postgres = { pid: postmasterPid || undefined, port: db.info.port, dataDir: db.cluster.dataDir };
    writeState(stateFile, state);
    say(
      `PostgreSQL ${db.cluster.majorVersion} on ${db.info.host}:${db.info.port} (max_connections=${args.maxConnections})`,
    );
    const folder = writeWorkspace(stateDir, 'workspace', db.info);
    fs.mkdirSync(path.join(folder, '.vscode'), { recursive: true });
    fs.writeFileSync(
      path.join(folder, '.vscode', 'settings.json'),
      `${JSON.stringify({ 'remote.autoForwardPorts': false, 'files.autoSave': 'off' }, null, 2)}\n`,
    );
    const configFile = path.join(folder, '.claude-flow', 'config.yaml');
    say(
      `demo workspace ${path.relative(repoRoot, folder)}/: project pool ${db.info.project.poolSize} ` +
        `(too big for the server), shared pool ${db.info.shared.poolSize}; passwords in its .env`,
    );
    server = await startCodeServer({
      workspace: folder,
      runRoot: stateDir,
      host: args.host,
      port: args.port,
      password,
      // The extension shows the Problems panel once it is up (client/src/extension.ts).
      env: { POOL_CAPACITY_DEMO_SHOW_PROBLEMS: '1' },
      settings: { 'files.autoSave': 'off' },
    });
    state.codeServer = { pid: server.pid, port: server.port, url: server.url };
    writeState(stateFile, state);
    // The page's own address must be the payload's authority: the one a browser uses to get here.
    const wildcard = /^(0\.0\.0\.0|::|\[::\])$/.test(args.host);
    const shownHost = wildcard
      ? os.hostname()
      : args.host.includes(':') && !args.host.startsWith('[')
        ? `[${args.host}]`
        : args.host;
    const authority = `${shownHost}:${server.port}`;
    const url = workbenchUrl(`http://${authority}`, authority, folder, configFile);
    say(`code-server ${server.url} ready (${((Date.now() - started) / 1000).toFixed(1)} s since start)`);
    const lines = ['', "Open Pool Capacity's demo in a browser:", '', `  ${url}`, ''];
    if (password) {
      lines.push(
        `code-server listens on ${args.host}:${server.port} with password login; the password (shown only here):`,
        '',
        `  ${password}`,
        '',
      );
      if (wildcard) lines.push(`(Use the address this machine is reached by in place of ${shownHost}.)`, '');
    }
    lines.push('Ctrl-C stops everything.', '');
    process.stdout.write(lines.join('\n'));
  } catch (error) {
    // The cause on one line; a log tail, when there is one, below it.
    const [cause, ...details] = (error instanceof Error ? error.message : String(error)).split('\n');
    say(`failed: ${cause}`);
    if (details.length > 0) process.stdout.write(`${details.map((l) => `    ${l}`).join('\n')}\n`);
    await stopAll('startup failed', 1);
  }
}

main();
