/**
 * `npm start` as people use it, and abuse it: killed with SIGKILL (no clean-up ran) and started again,
 * it leaves exactly one PostgreSQL and one code-server; on a non-loopback address it turns on
 * code-server's password login. Each run uses its own state directory (POOL_CAPACITY_DEMO_DIR).
 */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ensureCodeServer } from '../../harness/codeServer';
import { freePort } from '../../harness/freePort';
import {
  demoDirs,
  demoPostgresRoot,
  findLeftovers,
  isAlive,
  listProcesses,
  stopProcesses,
} from '../../harness/processes';
import type { DemoState } from '../../scripts/start';

const repoRoot = path.resolve(__dirname, '../..');

interface StartRun {
  child: ChildProcess;
  output: () => string;
  exited: Promise<number | null>;
}

function npmStart(stateDir: string, args: string[] = []): StartRun {
  // Its own process group, so the test can kill the whole `npm start` (npm, sh, node) at once.
  const child = spawn('npm', ['start', '--', '--skip-build', ...args], {
    cwd: repoRoot,
    env: { ...process.env, POOL_CAPACITY_DEMO_DIR: stateDir },
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout!.on('data', (d) => {
    output += d;
  });
  child.stderr!.on('data', (d) => {
    output += d;
  });
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return { child, output: () => output, exited };
}

async function ready(run: StartRun, timeoutMs = 120_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!run.output().includes('Ctrl-C stops everything.')) {
    assert.ok(!/\[start\] failed/.test(run.output()), run.output());
    assert.ok(run.child.exitCode === null, `npm start exited early:\n${run.output()}`);
    assert.ok(Date.now() < deadline, `npm start was not ready in time:\n${run.output()}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

function listening(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: '127.0.0.1', port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

/** Postmasters and code-servers working under the state directory, counted as the user would. */
function running(stateDir: string): { postgres: number; codeServer: number } {
  const dirs = demoDirs(stateDir);
  const inside = listProcesses().filter((p) => !p.zombie && dirs.some((d) => p.cwd?.startsWith(`${d}/`)));
  const dataDirs = new Set(inside.filter((p) => p.comm === 'postgres').map((p) => p.cwd));
  // code-server runs as a parent and a child in one process group: one server per group.
  const groups = new Set(inside.filter((p) => p.name === 'code-server').map((p) => p.pgid));
  return { postgres: dataDirs.size, codeServer: groups.size };
}

const readState = (stateDir: string) =>
  JSON.parse(readFileSync(path.join(stateDir, 'state.json'), 'utf8')) as DemoState;

describe('npm start (the demo)', { timeout: 420_000 }, () => {
  let stateDir: string;
  const runs: StartRun[] = [];
  before(async () => {
    await ensureCodeServer();
    stateDir = mkdtempSync(path.join(os.tmpdir(), 'pool-capacity-start-'));
  });
  after(async () => {
    for (const run of runs) {
      try {
        process.kill(-run.child.pid!, 'SIGTERM');
      } catch {}
    }
    await Promise.race([Promise.all(runs.map((r) => r.exited)), new Promise((r) => setTimeout(r, 15_000))]);
    if (stateDir) {
      await stopProcesses(
        findLeftovers(stateDir).map((p) => p.pid),
        { graceMs: 5_000 },
      );
      rmSync(stateDir, { recursive: true, force: true });
      rmSync(demoPostgresRoot(stateDir), { recursive: true, force: true });
    }
  });

  it('killed with SIGKILL and started again, it leaves exactly one PostgreSQL and one code-server', async () => {
    const first = npmStart(stateDir);
    runs.push(first);
    await ready(first);
    const before = readState(stateDir);
    assert.ok(before.postgres?.pid && before.codeServer?.pid, JSON.stringify(before));
    assert.deepEqual(running(stateDir), { postgres: 1, codeServer: 1 });
    const settings = JSON.parse(
      readFileSync(path.join(stateDir, 'workspace', '.vscode', 'settings.json'), 'utf8'),
    );
    assert.equal(settings['remote.autoForwardPorts'], false);
    assert.match(first.output(), /payload=.*openFile.*config\.yaml/);

    process.kill(-first.child.pid!, 'SIGKILL');
    await first.exited;
    // What the user saw: the servers outlive a killed `npm start`.
    assert.ok(isAlive(before.postgres.pid), 'PostgreSQL died with npm start: the scenario did not happen');
    assert.ok(isAlive(before.codeServer.pid), 'code-server died with npm start: the scenario did not happen');

    const second = npmStart(stateDir);
    runs.push(second);
    await ready(second);
    assert.match(
      second.output(),
      /stopping what an earlier run left behind: \d+ processes \(.*PostgreSQL.*\)/,
    );
    assert.match(second.output(), /stopping what an earlier run left behind: .*code-server/);
    const after = readState(stateDir);
    assert.notEqual(after.postgres?.pid, before.postgres.pid);
    assert.ok(!isAlive(before.postgres.pid), 'the killed run’s PostgreSQL still runs');
    assert.ok(!isAlive(before.codeServer.pid), 'the killed run’s code-server still runs');
    assert.equal(await listening(before.postgres.port), false);
    assert.equal(await listening(before.codeServer.port), false);
    assert.deepEqual(running(stateDir), { postgres: 1, codeServer: 1 });
    // Only the live run's cluster and code-server directories remain.
    const dirs = readdirSync(stateDir).filter((d) => d.startsWith('code-server-'));
    assert.equal(dirs.length, 1, dirs.join(', '));

    // A clean stop (Ctrl-C / SIGTERM) leaves nothing.
    process.kill(after.pid, 'SIGTERM');
    assert.equal(await second.exited, 0, second.output());
    assert.match(second.output(), /stopped; nothing left running/);
    assert.deepEqual(findLeftovers(stateDir), []);
    assert.equal(await listening(after.codeServer!.port), false);
  });

  it('--host with a non-loopback address turns on password login and prints the password once', async () => {
    const port = await freePort();
    const run = npmStart(stateDir, ['--host', '0.0.0.0', '--port', String(port)]);
    runs.push(run);
    await ready(run);
    const state = readState(stateDir);
    assert.equal(state.codeServer?.port, port);
    const password = /password \(shown only here\):\n\n {2}(\S+)\n/.exec(run.output())?.[1];
    assert.ok(password && password.length >= 20, run.output());
    assert.equal(run.output().split(password).length - 1, 1, 'the password is printed exactly once');
    const page = await fetch(`http://127.0.0.1:${port}/`, {
      redirect: 'manual',
      signal: AbortSignal.timeout(10_000),
    });
    assert.equal(page.status, 302);
    assert.match(page.headers.get('location') ?? '', /login/);
    process.kill(state.pid, 'SIGTERM');
    assert.equal(await run.exited, 0, run.output());
    assert.equal(await listening(port), false);
  });
});
