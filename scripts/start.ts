// `npm start`: the product on an embedded default. Builds the extension, starts a throwaway PostgreSQL,
// writes a demo workspace pointing at it (.run/demo-workspace, one pool deliberately too big for the
// server), starts code-server with the extension loaded from this folder, and prints the URL to open.
// Ctrl-C (or SIGTERM) stops everything and leaves nothing running or listening.
//
//   npm start [-- --skip-build] [-- --max-connections=20]
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { type FixtureDatabase, startFixtureDatabase, writeWorkspace } from '../test/vscode/fixtures';
import { type RunningCodeServer, repoRoot, startCodeServer } from './codeServer';

function argValue(name: string): string | undefined {
  const prefix = `--${name}=`;
  return process.argv.find((arg) => arg.startsWith(prefix))?.slice(prefix.length);
}

function say(line: string): void {
  process.stdout.write(`[start] ${line}\n`);
}

/** The workbench URL that opens `folder` with the extension loaded from the repository (development mode). */
export function workbenchUrl(server: RunningCodeServer, folder: string): string {
  const payload = [['extensionDevelopmentPath', `vscode-remote://127.0.0.1:${server.port}${repoRoot}`]];
  return `${server.url}/?folder=${encodeURIComponent(folder)}&payload=${encodeURIComponent(JSON.stringify(payload))}`;
}

async function main(): Promise<void> {
  const started = Date.now();
  if (!process.argv.includes('--skip-build')) {
    const build = spawnSync('npm', ['run', 'build', '--silent'], { cwd: repoRoot, stdio: 'inherit' });
    if (build.status !== 0) throw new Error(`npm run build failed (exit ${build.status})`);
  }
  const runRoot = path.join(repoRoot, '.run');
  let db: FixtureDatabase | undefined;
  let server: RunningCodeServer | undefined;
  let stopping = false;
  const stopAll = async (why: string) => {
    if (stopping) return;
    stopping = true;
    say(`${why}: stopping code-server and PostgreSQL ...`);
    const results = await Promise.allSettled([server?.stop(), db?.stop()]);
    const failed = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
    for (const failure of failed) say(`could not stop cleanly: ${failure.reason}`);
    say(failed.length === 0 ? 'stopped; nothing left running' : 'stopped with errors');
    process.exit(failed.length === 0 ? 0 : 1);
  };
  // Registered before anything starts, so Ctrl-C during startup cleans up too. `on`, not `once`: the
  // PostgreSQL harness re-raises a signal nobody else listens for, which would kill us mid-cleanup.
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const)
    process.on(signal, () => void stopAll(signal));

  try {
    const maxConnections = Number(argValue('max-connections') ?? 20);
    db = await startFixtureDatabase({ maxConnections });
    say(
      `PostgreSQL ${db.cluster.majorVersion} on ${db.info.host}:${db.info.port} (max_connections=${maxConnections})`,
    );
    const demoRoot = runRoot;
    fs.rmSync(path.join(demoRoot, 'demo-workspace'), { recursive: true, force: true });
    const folder = writeWorkspace(demoRoot, 'demo-workspace', db.info);
    say(
      `demo workspace ${path.relative(repoRoot, folder)}/: project pool ${db.info.project.poolSize} ` +
        `(too big for the server), shared pool ${db.info.shared.poolSize}; passwords in its .env`,
    );
    server = await startCodeServer({ workspace: folder, runRoot, settings: { 'files.autoSave': 'off' } });
    const url = workbenchUrl(server, folder);
    say(`code-server ${server.url} ready (${((Date.now() - started) / 1000).toFixed(1)} s since start)`);
    process.stdout.write(
      `\nOpen Pool Capacity's demo in a browser:\n\n  ${url}\n\nCtrl-C stops everything.\n`,
    );
  } catch (error) {
    say(`failed: ${error instanceof Error ? error.message : error}`);
    await stopAll('startup failed');
  }
}

main();
