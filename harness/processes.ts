// Finding and stopping what a killed `npm start` left behind, from /proc (Linux). Its PostgreSQL and
// code-server (with the extension host and language server under it) all work inside the demo's state
// directory: the postmaster and its backends in their data directory, code-server in its run directory.
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

/**
 * Where the demo of `stateDir` keeps its PostgreSQL clusters. Not inside the state directory: as root
 * the server runs as the postgres OS user, who may not reach a checkout under /root. One directory per
 * state directory, so the demo's leftovers are told apart from other clusters (tests, other checkouts).
 */
export function demoPostgresRoot(stateDir: string): string {
  let base = os.tmpdir();
  try {
    fs.accessSync('/dev/shm', fs.constants.W_OK);
    base = '/dev/shm';
  } catch {}
  const id = createHash('sha256').update(path.resolve(stateDir)).digest('hex').slice(0, 12);
  return path.join(base, `pool-capacity-demo-${id}`);
}

/** Every directory a demo run works in. */
export function demoDirs(stateDir: string): string[] {
  return [path.resolve(stateDir), demoPostgresRoot(stateDir)];
}

export interface ProcessInfo {
  pid: number;
  ppid: number;
  pgid: number;
  /** The kernel's short name (`postgres`, `node`, ...). */
  comm: string;
  /** Its working directory, when readable. */
  cwd?: string;
  /** Zombie: exited, waiting to be reaped. */
  zombie: boolean;
  /** For messages: PostgreSQL, code-server or the short name. */
  name: string;
}

/** The programs a demo run starts; a shell someone left in the directory is not one of them. */
const DEMO_PROGRAMS = new Set(['postgres', 'postmaster', 'pg_ctl', 'node', 'code-server', 'rg']);

export function listProcesses(): ProcessInfo[] {
  const processes: ProcessInfo[] = [];
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const pid = Number(entry);
    try {
      const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
      // "pid (comm) state ppid pgrp ..."; comm may hold spaces and parentheses: split at the last ')'.
      const close = stat.lastIndexOf(')');
      const comm = stat.slice(stat.indexOf('(') + 1, close);
      const [state, ppid, pgid] = stat.slice(close + 2).split(' ');
      let cwd: string | undefined;
      try {
        cwd = fs.readlinkSync(`/proc/${pid}/cwd`).replace(/ \(deleted\)$/, '');
      } catch {}
      let cmdline = '';
      try {
        cmdline = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8');
      } catch {}
      const name = comm.startsWith('postgres')
        ? 'PostgreSQL'
        : cmdline.includes('code-server')
          ? 'code-server'
          : comm;
      processes.push({ pid, ppid: Number(ppid), pgid: Number(pgid), comm, cwd, zombie: state === 'Z', name });
    } catch {
      // gone while we looked
    }
  }
  return processes;
}

/**
 * The processes of an earlier run: demo programs working inside one of `dirs`, and the rest of their
 * process groups (code-server's children may change directory). Never this process, its ancestors or
 * their groups.
 */
export function leftoverProcesses(
  processes: readonly ProcessInfo[],
  dirs: readonly string[],
  self: number,
): ProcessInfo[] {
  const byPid = new Map(processes.map((p) => [p.pid, p]));
  const ours = new Set<number>();
  const ourGroups = new Set<number>();
  for (let p = byPid.get(self); p && !ours.has(p.pid); p = byPid.get(p.ppid)) {
    ours.add(p.pid);
    ourGroups.add(p.pgid);
  }
  const inside = (cwd?: string) =>
    cwd !== undefined && dirs.some((dir) => cwd === dir || cwd.startsWith(`${dir}/`));
  const found = processes.filter(
    (p) =>
      !ours.has(p.pid) && !ourGroups.has(p.pgid) && !p.zombie && DEMO_PROGRAMS.has(p.comm) && inside(p.cwd),
  );
  const groups = new Set(found.map((p) => p.pgid).filter((g) => !ourGroups.has(g) && g > 1));
  const result = new Map(found.map((p) => [p.pid, p]));
  for (const p of processes) {
    if (groups.has(p.pgid) && !ours.has(p.pid) && !p.zombie) result.set(p.pid, p);
  }
  return [...result.values()].sort((a, b) => a.pid - b.pid);
}

/** What a demo run of `stateDir` (this one excepted) has running. */
export function findLeftovers(stateDir: string): ProcessInfo[] {
  return leftoverProcesses(listProcesses(), demoDirs(stateDir), process.pid);
}

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    return !/^\d+ \(.*\) Z/.test(fs.readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
}

const delay = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** SIGTERM, then SIGKILL after `graceMs`; resolves with the pids still alive after that (none, normally). */
export async function stopProcesses(
  pids: readonly number[],
  options: { graceMs: number },
): Promise<number[]> {
  const signal = (sig: NodeJS.Signals) => {
    for (const pid of pids) {
      try {
        process.kill(pid, sig);
      } catch {}
    }
  };
  const waitGone = async (ms: number) => {
    const deadline = Date.now() + ms;
    while (pids.some(isAlive) && Date.now() < deadline) await delay(100);
  };
  signal('SIGTERM');
  await waitGone(options.graceMs);
  if (pids.some(isAlive)) {
    signal('SIGKILL');
    await waitGone(5_000);
  }
  return pids.filter(isAlive);
}
