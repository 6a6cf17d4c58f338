/**
 * 2./3. The capacity test (35 agents, 200 ms hold, pool mode) and the burst test (5 x 35, 100 ms
 * pause) through the engine, against a minimal raw node-postgres script of the same shape.
 */
import pg from 'pg';
import type { ConnectionTarget } from '../server/src/core/connection/connectionTarget';
import { runLoadTest } from '../server/src/io/loadtest/engine';
import { type LoadTestOptions, loadTestDefaults } from '../shared/loadTest';
import { settingsDefaults } from '../shared/settings';
import { type AuthKind, type BenchServer, waitForQuietServer } from './benchCluster';
import { type BenchRow, compared, sleep, summarize } from './measure';

/** The origin's project pool size; 35 agents fit, so every agent succeeds in both runners. */
const POOL_SIZE = 40;
const AGENTS = 35;
const HOLD_MS = 200;
const BURSTS = 5;
const PAUSE_MS = 100;

interface Shape {
  name: string;
  phases: number;
  pauseMs: number;
  options: LoadTestOptions;
}

const shapes: Shape[] = [
  {
    name: `2. Capacity test, ${AGENTS} agents, ${HOLD_MS} ms hold, pool mode`,
    phases: 1,
    pauseMs: 0,
    options: {
      ...loadTestDefaults,
      shape: 'capacity',
      agents: AGENTS,
      durationMs: HOLD_MS,
      mode: 'pool',
      force: true,
    },
  },
  {
    name: `3. Burst ${BURSTS} x ${AGENTS}, ${PAUSE_MS} ms pause`,
    phases: BURSTS,
    pauseMs: PAUSE_MS,
    options: {
      ...loadTestDefaults,
      shape: 'burst',
      agents: AGENTS,
      durationMs: HOLD_MS,
      bursts: BURSTS,
      pauseMs: PAUSE_MS,
      mode: 'pool',
      force: true,
    },
  },
];

/**
 * What a user would write without the product: a pg.Pool of the same size, every agent at once
 * (connect, SELECT 1, hold, release), bursts separated by the same pause. Timed over the same span
 * as the engine's wallMs: from the first agent's start to the last agent's release.
 */
async function rawPoolRun(target: ConnectionTarget, shape: Shape): Promise<number> {
  const pool = new pg.Pool({
    host: target.host,
    port: target.port,
    database: target.database,
    user: target.user,
    password: target.password ?? '',
    max: POOL_SIZE,
  });
  pool.on('error', () => {});
  try {
    const t0 = performance.now();
    for (let phase = 0; phase < shape.phases; phase++) {
      if (phase > 0) await sleep(shape.pauseMs);
      await Promise.all(
        Array.from({ length: AGENTS }, async () => {
          const client = await pool.connect();
          try {
            await client.query('SELECT 1');
            await sleep(HOLD_MS);
          } finally {
            client.release();
          }
        }),
      );
    }
    return performance.now() - t0;
  } finally {
    await pool.end();
  }
}

async function engineRun(
  target: ConnectionTarget,
  shape: Shape,
): Promise<{ wallMs: number; callMs: number }> {
  const t0 = performance.now();
  const report = await runLoadTest([{ name: 'project', poolSize: POOL_SIZE, target }], shape.options, {
    settings: settingsDefaults,
  });
  const callMs = performance.now() - t0;
  const expected = AGENTS * shape.phases;
  if (report.succeeded !== expected || report.leftover !== 0)
    throw new Error(
      `engine ${shape.options.shape} run: ${report.succeeded}/${expected} succeeded, ${report.leftover} left over`,
    );
  return { wallMs: report.wallMs, callMs };
}

export async function measureLoadShapes(
  server: BenchServer,
  auths: readonly AuthKind[],
  runs: number,
  log: (line: string) => void,
): Promise<{
  rows: BenchRow[];
  raw: Record<string, { engine: number[]; engineCall: number[]; rawPg: number[] }>;
}> {
  const rows: BenchRow[] = [];
  const raw: Record<string, { engine: number[]; engineCall: number[]; rawPg: number[] }> = {};
  for (const shape of shapes) {
    for (const auth of auths) {
      const target = server.targets[auth];
      const figures = { engine: [] as number[], engineCall: [] as number[], rawPg: [] as number[] };
      for (let run = -1; run < runs; run++) {
        const order = run % 2 === 0 ? ['raw', 'engine'] : ['engine', 'raw'];
        for (const who of order) {
          await waitForQuietServer(server);
          if (who === 'raw') {
            const ms = await rawPoolRun(target, shape);
            if (run >= 0) figures.rawPg.push(ms);
          } else {
            const { wallMs, callMs } = await engineRun(target, shape);
            if (run >= 0) {
              figures.engine.push(wallMs);
              figures.engineCall.push(callMs);
            }
          }
        }
      }
      raw[`${shape.options.shape}-${auth}`] = figures;
      const engine = summarize(figures.engine, 'ms');
      const call = summarize(figures.engineCall, 'ms');
      const rawPg = summarize(figures.rawPg, 'ms');
      log(
        `  ${shape.options.shape} ${auth}: engine ${engine.median.toFixed(1)} ms (whole call ${call.median.toFixed(1)} ms), raw pg ${rawPg.median.toFixed(1)} ms`,
      );
      rows.push(
        compared(
          {
            section: shape.name,
            label: `${auth === 'trust' ? 'trust' : 'SCRAM'}: engine, wall time`,
            value: engine,
            baseline: { label: 'raw pg.Pool script', value: rawPg },
            note: `whole runLoadTest call incl. probe, observer, close and leftover check: ${call.median.toFixed(0)} ms (${call.min.toFixed(0)}–${call.max.toFixed(0)})`,
          },
          { text: '≤ 1.05× raw pg', meets: (ratio) => ratio <= 1.05 },
        ),
      );
    }
  }
  return { rows, raw };
}
