/** A node process run under /usr/bin/time, which writes the child's peak RSS (KB) to a file. */
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';

export interface TimedResult {
  code: number | null;
  stdout: string;
  stderr: string;
  /** The child's maximum resident set in KB; NaN when /usr/bin/time wrote no figure. */
  maxRssKb: number;
}

export interface TimedOptions {
  cwd: string;
  env?: NodeJS.ProcessEnv;
  /** The child is killed (SIGKILL) after this long. */
  limitMs: number;
}

/** Runs `node ...args` under /usr/bin/time; the RSS file is written in `cwd`. */
export function runNodeTimed(args: string[], { cwd, env, limitMs }: TimedOptions): Promise<TimedResult> {
  const rssFile = path.join(cwd, `rss-${process.hrtime.bigint()}-${Math.random().toString(36).slice(2)}`);
  const child = spawn('/usr/bin/time', ['-f', '%M', '-o', rssFile, process.execPath, ...args], {
    cwd,
    ...(env ? { env } : {}),
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d) => {
    stdout += d;
  });
  child.stderr.on('data', (d) => {
    stderr += d;
  });
  const killer = setTimeout(() => child.kill('SIGKILL'), limitMs);
  return new Promise((resolve) =>
    child.on('close', (code) => {
      clearTimeout(killer);
      const maxRssKb = existsSync(rssFile)
        ? Number(readFileSync(rssFile, 'utf8').trim().split('\n').pop())
        : NaN;
      resolve({ code, stdout, stderr, maxRssKb });
    }),
  );
}
