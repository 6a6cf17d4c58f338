// A real non-VS-Code client in the suite: Neovim from Debian (0.7's built-in LSP client), headless,
// driven by test/neovim/poolCapacity.lua against the real language server and a throwaway cluster.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { writePoolConfig } from '../../harness/configFixture';
import { startAppCluster } from '../../harness/lspWorkspaces';
import type { Cluster } from '../../harness/pgCluster';

const NVIM = '/usr/bin/nvim';
const ROOT = join(__dirname, '..', '..');
const SERVER = join(ROOT, 'dist', 'server.js');
const SCRIPT = join(ROOT, 'test', 'neovim', 'poolCapacity.lua');
const PASSWORD = 'nvim-Secret-7e21';
/** The whole session's bound: each step in the script has its own (POOL_CAPACITY_WAIT_MS). */
const SESSION_MS = 120_000;

interface Step {
  step: string;
  value: unknown;
}

describe('Neovim (headless, built-in LSP client) against the real server and PostgreSQL', () => {
  let cluster: Cluster;
  let dir: string;

  before(async () => {
    cluster = await startAppCluster(20, PASSWORD);
    dir = await mkdtemp(join(tmpdir(), 'pool-capacity-nvim-'));
  });

  after(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
    await cluster?.stop();
  });

  it('shows diagnostics, hover, a quick fix, an external .env edit and a test run via executeCommand', async () => {
    assert.ok(
      existsSync(NVIM),
      `Neovim is missing (${NVIM}): install it with \`node scripts/systemPackages.cjs test\` (apt-get install neovim)`,
    );
    const config = writePoolConfig(dir, {
      maxAgents: 4,
      project: {
        port: cluster.port,
        database: 'appdb',
        password: '${APP_PASSWORD}',
        poolSize: 40,
        poolSizeComment: "the agents' pool",
      },
      shared: { port: cluster.port, database: 'shareddb', password: '${APP_PASSWORD}', poolSize: 3 },
    });
    const dotenv = join(dir, '.env');
    await writeFile(dotenv, 'APP_PASSWORD=not-the-password\n');
    const transcript = join(dir, 'transcript.jsonl');

    const nvim = spawn(NVIM, ['--headless', '--clean', '-n', '-c', `luafile ${SCRIPT}`], {
      cwd: dir,
      env: {
        PATH: process.env.PATH,
        HOME: dir,
        PGPASSFILE: '/nonexistent',
        POOL_CAPACITY_NODE: process.execPath,
        POOL_CAPACITY_SERVER: SERVER,
        POOL_CAPACITY_ROOT: dir,
        POOL_CAPACITY_CONFIG: config,
        POOL_CAPACITY_DOTENV: dotenv,
        POOL_CAPACITY_DOTENV_FIXED: `APP_PASSWORD=${PASSWORD}\n`,
        POOL_CAPACITY_OUT: transcript,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    nvim.stdout.on('data', (c) => (output += c));
    nvim.stderr.on('data', (c) => (output += c));
    const code = await new Promise<number | null>((resolve) => {
      const timer = setTimeout(() => nvim.kill('SIGKILL'), SESSION_MS);
      nvim.on('exit', (exitCode) => {
        clearTimeout(timer);
        resolve(exitCode);
      });
    });
    const steps: Step[] = existsSync(transcript)
      ? (await readFile(transcript, 'utf8'))
          .split('\n')
          .filter(Boolean)
          .map((l) => JSON.parse(l))
      : [];
    // biome-ignore lint/suspicious/noExplicitAny: the Lua script's JSON, checked field by field below
    const step = (name: string) => steps.find((s) => s.step === name)?.value as any;
    const context = `nvim exited ${code}; output: ${output}\ntranscript: ${JSON.stringify(steps, null, 1)}`;
    if (process.env.POOL_CAPACITY_NVIM_TRANSCRIPT)
      process.stdout.write(`${JSON.stringify(steps, null, 1)}\n`);
    assert.equal(step('error'), undefined, context);
    assert.equal(code, 0, context);

    assert.ok(step('initialized').commands.includes('pool-capacity.runCapacityTest'), context);
    assert.ok(
      step('diagnostics').some((d: { code: string }) => d.code === 'auth-failed'),
      context,
    );
    const edit = step('dotenv-edit');
    assert.deepEqual(
      edit.diagnostics.map((d: { code: string; line: number; col: number }) => [d.code, d.line, d.col]),
      [['pool-exceeds-server', 11, 16]],
      context,
    );
    assert.match(step('hover'), /max_connections|slots/, context);
    assert.ok(!JSON.stringify(steps).includes(PASSWORD), 'the password appeared in the transcript');
    const fix = step('quick-fix');
    assert.match(fix.title, /\d+/, context);
    assert.match(fix.line, /^ {6}poolSize: \d+ # the agents' pool$/, context);
    assert.notEqual(fix.line, "      poolSize: 40 # the agents' pool");
    assert.ok(!step('after-fix').some((d: { code: string }) => d.code === 'pool-exceeds-server'), context);
    const run = step('execute-command');
    assert.equal(run.answer.err ?? null, null, context);
    assert.equal(run.answer.result.outcome, 'done', context);
    assert.equal(run.answer.result.verdict, 'PASS', context);
    assert.ok(
      run.progress.some((p: { kind: string }) => p.kind === 'begin') &&
        run.progress.some((p: { kind: string }) => p.kind === 'end'),
      context,
    );
    assert.ok(
      run.shown.some((m: string) => /pool capacity test PASS: 3\/3 agents succeeded/.test(m)),
      context,
    );
    assert.equal(step('exit'), 0, context);
    await rm(fileURLToPath(run.answer.result.reportUri), { force: true });
  });
});
