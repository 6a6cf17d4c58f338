/**
 * 6. Load held: 1,000 agents through PgBouncer (max_client_conn 2,000, a server pool of 5) and 500
 * agents queueing on a pool of 20 (`--on-exhausted wait`), the built CLI against a plain
 * node-postgres script of the same shape (bench/rawHeldLoad.mjs), each in its own process under
 * /usr/bin/time so both wall time and peak memory (max RSS) are compared.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startPgBouncer } from '../harness/pgBouncer';
import { runNodeTimed } from '../harness/timedProcess';
import type { BenchServer } from './benchCluster';
import { type BenchRow, compared, sleep, summarize } from './measure';

const ROOT = path.resolve(__dirname, '..');
const CLI = path.join(ROOT, 'dist', 'cli.js');
const RAW = path.join(ROOT, 'bench', 'rawHeldLoad.mjs');
const MEMORY_GOAL_BYTES = 200 * 1024 * 1024;
/** PgBouncer's server pool (default_pool_size): its connections stay open between runs by design. */
const SERVER_POOL = 5;

/** Waits until no client backend is left but the harness' admin connection and PgBouncer's server pool. */
async function waitForQuiet(server: BenchServer): Promise<void> {
  const deadline = Date.now() + 5000;
  for (;;) {
    const [row] = await server.cluster.sql<{ n: number }>(
      "SELECT count(*)::int AS n FROM pg_stat_activity WHERE backend_type = 'client backend' AND pid <> pg_backend_pid()",
    );
    if (row!.n <= SERVER_POOL) return;
    if (Date.now() > deadline)
      throw new Error(`${row!.n} connections still open on the bench server between runs`);
    await sleep(25);
  }
}

interface Shape {
  name: string;
  agents: number;
  holdMs: number;
  /** Set: a pool of this size that agents wait for; unset: one connection per agent, through PgBouncer. */
  poolSize?: number;
}

export const heldLoadShapes: Shape[] = [
  {
    name: '6. Load held: 1,000 agents through PgBouncer (max_client_conn 2,000, server pool 5)',
    agents: 1000,
    holdMs: 2000,
  },
  { name: '6. Load held: 500 agents waiting on a pool of 20', agents: 500, holdMs: 20, poolSize: 20 },
];

/** Runs a command under /usr/bin/time; resolves with its stdout and max RSS in bytes. */
async function timed(
  args: string[],
  cwd: string,
): Promise<{ stdout: string; maxRssBytes: number; code: number | null }> {
  const { stdout, stderr, code, maxRssKb } = await runNodeTimed(args, { cwd, limitMs: 180_000 });
  if (!Number.isFinite(maxRssKb)) throw new Error(`${args.join(' ')}: no memory figure ${stderr}`);
  return { stdout, maxRssBytes: maxRssKb * 1024, code };
}

export async function measureHeldLoad(
  server: BenchServer,
  runs: number,
  log: (line: string) => void,
): Promise<{ rows: BenchRow[]; raw: Record<string, unknown> }> {
  const target = server.targets.scram;
  const bouncer = await startPgBouncer(server.cluster, {
    users: [{ name: target.user, password: target.password! }],
    databases: [target.database],
    maxClientConn: 2000,
    defaultPoolSize: SERVER_POOL,
    poolMode: 'transaction',
    statsUsers: [target.user],
  });
  const dir = mkdtempSync(path.join(os.tmpdir(), 'pool-capacity-bench-held-'));
  const rows: BenchRow[] = [];
  const raw: Record<string, unknown> = {};
  try {
    for (const shape of heldLoadShapes) {
      const port = shape.poolSize ? target.port : bouncer.port;
      const configDir = path.join(dir, `${shape.agents}`, '.claude-flow');
      mkdirSync(configDir, { recursive: true });
      const config = path.join(configDir, 'config.yaml');
      writeFileSync(
        config,
        `memory:\n  postgresql:\n    project:\n      host: ${target.host}\n      port: ${port}\n      database: ${target.database}\n      user: ${target.user}\n      password: ${JSON.stringify(target.password)}\n      poolSize: ${shape.poolSize ?? shape.agents}\n`,
      );
      const cliArgs = [
        CLI,
        'test',
        String(shape.agents),
        '--duration',
        String(shape.holdMs),
        '--connect-timeout',
        '60000',
        '--config',
        config,
        '--json',
        ...(shape.poolSize ? ['--on-exhausted', 'wait', '--acquire-timeout', '120000'] : []),
      ];
      const rawSpec = JSON.stringify({
        ...target,
        port,
        agents: shape.agents,
        holdMs: shape.holdMs,
        poolSize: shape.poolSize,
      });
      const figures = {
        cliWallMs: [] as number[],
        cliRss: [] as number[],
        rawWallMs: [] as number[],
        rawRss: [] as number[],
      };
      for (let run = 0; run < runs; run++) {
        for (const who of run % 2 === 0 ? ['cli', 'raw'] : ['raw', 'cli']) {
          await waitForQuiet(server);
          if (who === 'cli') {
            const result = await timed(cliArgs, dir);
            const report = JSON.parse(result.stdout);
            if (report.succeeded !== shape.agents || report.leftover !== 0)
              throw new Error(
                `CLI run: ${report.succeeded}/${shape.agents} succeeded, ${report.leftover} left over`,
              );
            figures.cliWallMs.push(report.wallMs);
            figures.cliRss.push(result.maxRssBytes);
          } else {
            const result = await timed([RAW, rawSpec], dir);
            const out = JSON.parse(result.stdout);
            if (out.failed !== 0) throw new Error(`raw script: ${out.failed} agents failed`);
            figures.rawWallMs.push(out.wallMs);
            figures.rawRss.push(result.maxRssBytes);
          }
        }
      }
      raw[shape.name] = figures;
      const cliWall = summarize(figures.cliWallMs, 'ms');
      const rawWall = summarize(figures.rawWallMs, 'ms');
      const cliRss = summarize(figures.cliRss, 'bytes');
      const rawRss = summarize(figures.rawRss, 'bytes');
      log(
        `  ${shape.agents} agents: CLI ${cliWall.median.toFixed(0)} ms / ${(cliRss.median / 2 ** 20).toFixed(0)} MB, raw pg ${rawWall.median.toFixed(0)} ms / ${(rawRss.median / 2 ** 20).toFixed(0)} MB`,
      );
      rows.push(
        compared(
          {
            section: shape.name,
            label: 'CLI test, wall time (report wallMs)',
            value: cliWall,
            baseline: { label: 'raw node-postgres script', value: rawWall },
            note: `hold ${shape.holdMs} ms; ${shape.poolSize ? `--on-exhausted wait, pg.Pool max ${shape.poolSize} in the script` : 'pool mode, one connection per agent; SCRAM through PgBouncer on both sides'}`,
          },
          { text: '≤ 1.1× raw pg', meets: (ratio) => ratio <= 1.1 },
        ),
        compared(
          {
            section: shape.name,
            label: 'CLI process, peak memory (max RSS)',
            value: cliRss,
            baseline: { label: 'raw node-postgres script', value: rawRss },
            note: 'whole process (node, the bundle, probe, observer, report), by /usr/bin/time',
          },
          { text: '< 200 MB', meets: (_ratio, value) => value.max < MEMORY_GOAL_BYTES },
        ),
      );
    }
  } finally {
    await bouncer.stop();
    rmSync(dir, { recursive: true, force: true });
  }
  return { rows, raw };
}
