/**
 * 1. Opening N connections at once: the engine's direct mode against pgbench's "initial connection
 * time" on the same server, for the trust role and the SCRAM role.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loadTestDefaults } from '../shared/loadTest';
import { settingsDefaults } from '../shared/settings';
import type { ConnectionTarget } from '../server/src/db/connectionTarget';
import { runLoadTest } from '../server/src/loadtest/engine';
import { type AuthKind, type BenchServer, waitForQuietServer } from './benchCluster';
import { type BenchRow, compared, summarize } from './measure';

const PGBENCH = process.env.PGBENCH ?? 'pgbench';

export interface ConnectFigures {
  /** Engine, direct mode, hold 0: the phase's wall time (all N connected and each ran SELECT 1). */
  enginePhaseMs: number[];
  /** Engine: the slowest agent's connect time (from its own acquire call to connected). */
  engineConnectMaxMs: number[];
  /** pgbench -c N -j N -t 1: "initial connection time". */
  pgbenchMs: number[];
}

/** pgbench's own env: the same target, no TLS or GSS negotiation (node-postgres does neither). */
function pgbenchEnv(target: ConnectionTarget): NodeJS.ProcessEnv {
  return {
    PATH: process.env.PATH,
    PGHOST: target.host,
    PGPORT: String(target.port),
    PGUSER: target.user,
    PGDATABASE: target.database,
    PGPASSWORD: target.password ?? '',
    PGSSLMODE: 'disable',
    PGGSSENCMODE: 'disable',
    PGAPPNAME: 'pool-capacity-bench/pgbench',
    PGPASSFILE: '/nonexistent',
  };
}

/** Runs pgbench once and returns its "initial connection time" in ms. */
function pgbenchInitialConnection(target: ConnectionTarget, n: number, script: string): Promise<number> {
  const args = ['-n', '-c', String(n), '-j', String(n), '-t', '1', '-f', script];
  return new Promise((resolve, reject) => {
    execFile(
      PGBENCH,
      args,
      { env: pgbenchEnv(target), timeout: 60_000, encoding: 'utf8' },
      (error, stdout, stderr) => {
        const found = /initial connection time = ([\d.]+) ms/.exec(stdout);
        const failed = /number of failed transactions: (\d+)/.exec(stdout);
        if (error || !found || (failed && failed[1] !== '0')) {
          reject(
            new Error(
              `pgbench ${args.join(' ')} failed: ${(stderr || stdout).trim().split('\n').slice(-3).join(' | ') || error?.message}`,
            ),
          );
        } else resolve(Number(found[1]));
      },
    );
  });
}

async function engineDirect(target: ConnectionTarget, n: number): Promise<{ phaseMs: number; connectMaxMs: number }> {
  const report = await runLoadTest(
    [{ name: 'project', poolSize: n, target }],
    { ...loadTestDefaults, shape: 'capacity', agents: n, mode: 'direct', durationMs: 0, force: true },
    { settings: settingsDefaults },
  );
  if (report.succeeded !== n || report.leftover !== 0)
    throw new Error(
      `engine direct run: ${report.succeeded}/${n} connected, ${report.leftover} left over (${JSON.stringify(report.failures)})`,
    );
  return { phaseMs: report.phases[0]!.wallMs, connectMaxMs: report.connectMs.max };
}

export async function measureConnections(
  server: BenchServer,
  ns: readonly number[],
  runs: number,
  log: (line: string) => void,
): Promise<{ rows: BenchRow[]; raw: Record<string, ConnectFigures> }> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'pool-capacity-bench-'));
  const script = path.join(dir, 'select1.sql');
  writeFileSync(script, 'SELECT 1;\n');
  const rows: BenchRow[] = [];
  const raw: Record<string, ConnectFigures> = {};
  try {
    for (const auth of ['trust', 'scram'] as AuthKind[]) {
      const target = server.targets[auth];
      for (const n of ns) {
        const figures: ConnectFigures = { enginePhaseMs: [], engineConnectMaxMs: [], pgbenchMs: [] };
        // One discarded warm-up of each (JIT, server caches); then alternate which goes first.
        for (let run = -1; run < runs; run++) {
          const order = run % 2 === 0 ? ['pgbench', 'engine'] : ['engine', 'pgbench'];
          for (const who of order) {
            await waitForQuietServer(server);
            if (who === 'pgbench') {
              const ms = await pgbenchInitialConnection(target, n, script);
              if (run >= 0) figures.pgbenchMs.push(ms);
            } else {
              const { phaseMs, connectMaxMs } = await engineDirect(target, n);
              if (run >= 0) {
                figures.enginePhaseMs.push(phaseMs);
                figures.engineConnectMaxMs.push(connectMaxMs);
              }
            }
          }
        }
        raw[`${auth}-${n}`] = figures;
        const engine = summarize(figures.enginePhaseMs, 'ms');
        const connectMax = summarize(figures.engineConnectMaxMs, 'ms');
        const pgbench = summarize(figures.pgbenchMs, 'ms');
        log(
          `  ${auth} N=${n}: engine ${engine.median.toFixed(1)} ms (slowest connect ${connectMax.median.toFixed(1)} ms), pgbench ${pgbench.median.toFixed(1)} ms`,
        );
        rows.push(
          compared(
            {
              section: '1. Open N connections at once',
              label: `${auth === 'trust' ? 'trust' : 'SCRAM'}, N=${n}: engine direct mode`,
              value: engine,
              baseline: { label: `pgbench -c ${n} -j ${n} initial connection time`, value: pgbench },
              note: `slowest single connect ${connectMax.median.toFixed(1)} ms (${connectMax.min.toFixed(1)}–${connectMax.max.toFixed(1)})`,
            },
            auth === 'trust'
              ? { text: '≤ 1.2× pgbench', meets: (ratio) => ratio <= 1.2 }
              : { text: '< 1.0× pgbench', meets: (ratio) => ratio < 1 },
          ),
        );
      }
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  return { rows, raw };
}
