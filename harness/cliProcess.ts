/**
 * The built command-line tool (dist/cli.js, from `npm run build`) as the tests run it: in a
 * workspace, without the calling shell's PG*, RUVECTOR_* and SHARED_KNOWLEDGE_* variables (they would
 * change what a config resolves to), its output collected, and killed after a bound so that a hung
 * CLI fails its test instead of hanging it.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import * as path from 'node:path';

export const CLI = path.join(__dirname, '..', 'dist', 'cli.js');

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
  /** From the start to the close of the process. */
  ms: number;
}

export interface CliRunOptions {
  cwd: string;
  /** Set on top of the cleaned environment (e.g. PGPASSFILE). */
  env?: NodeJS.ProcessEnv;
  /** What runs the CLI, the arguments appended: this node on dist/cli.js unless given (e.g. an installed bin). */
  command?: readonly string[];
  /** SIGKILL after this long. */
  timeoutMs?: number;
}

/** This process's environment without the variables a config resolves from, plus `extra`. */
export function cliEnv(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env };
  for (const key of Object.keys(env)) if (/^(PG|RUVECTOR_|SHARED_KNOWLEDGE_)/.test(key)) delete env[key];
  return { ...env, ...extra };
}

/** Starts the CLI; `done` settles when it closes (or is killed at the bound). */
export function spawnCli(
  args: readonly string[],
  { cwd, env = {}, command = [process.execPath, CLI], timeoutMs = 120_000 }: CliRunOptions,
): { child: ChildProcess; done: Promise<CliResult> } {
  const t0 = Date.now();
  const child = spawn(command[0]!, [...command.slice(1), ...args], { cwd, env: cliEnv(env) });
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (d) => {
    stdout += d;
  });
  child.stderr!.on('data', (d) => {
    stderr += d;
  });
  const killer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
  const done = new Promise<CliResult>((resolve) =>
    child.on('close', (code) => {
      clearTimeout(killer);
      resolve({ code, stdout, stderr, ms: Date.now() - t0 });
    }),
  );
  return { child, done };
}

/** The CLI's `--json` output, parsed; a failed assertion quoting the text when it is not JSON. */
export function parseJson(text: string) {
  try {
    return JSON.parse(text);
  } catch (error) {
    assert.fail(`not JSON (${(error as Error).message}): ${JSON.stringify(text)}`);
  }
}
