// `npm run bench`: the product's speed beside PostgreSQL's own tools and raw node-postgres, measured
// in one run on one throwaway server. Prints a table, writes bench/results/latest.{json,md}.
// Exits 0 when every measurement ran (a missed goal is a finding, not a failure), non-zero when
// something could not be measured (no server, pgbench failed, ...).
//
//   npm run bench [-- --skip-build] [-- --runs=5] [-- --only=1,2,4,5]
//   (--only picks sections: 1 connections, 2 capacity and burst, 4 diagnostics, 5 polling,
//   6 load held, 7 language server memory; for working on one; the results files then hold only
//   those rows.)
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { type BenchServer, startBenchServer } from './benchCluster';
import { measureConnections } from './connections';
import { measureDiagnostics } from './diagnostics';
import { measureHeldLoad } from './heldLoad';
import { measureLoadShapes } from './loadShapes';
import { type BenchRow, missingRow } from './measure';
import { type MachineInfo, markdownTable, textTable } from './report';
import { measureServerMemory } from './serverMemory';
import { buildForBench, measureSizes } from './sizes';
import { measureStatusPolling } from './statusPolling';

const root = path.resolve(__dirname, '..');
const resultsDir = path.join(__dirname, 'results');

function argValue(name: string): string | undefined {
  const prefix = `--${name}=`;
  return process.argv.find((arg) => arg.startsWith(prefix))?.slice(prefix.length);
}

function say(line: string): void {
  process.stdout.write(`[bench] ${line}\n`);
}

function packageVersion(name: string): string {
  return JSON.parse(readFileSync(path.join(root, 'node_modules', name, 'package.json'), 'utf8')).version;
}

function command(file: string, args: string[]): string {
  try {
    return execFileSync(file, args, { encoding: 'utf8', cwd: root, timeout: 10_000 }).trim();
  } catch {
    return 'unknown';
  }
}

function machineInfo(): MachineInfo {
  const dirty = command('git', ['status', '--porcelain']) !== '' ? '+dirty' : '';
  return {
    cpuModel: os.cpus()[0]?.model.trim() ?? 'unknown',
    cores: os.cpus().length,
    memoryGiB: Math.round(os.totalmem() / 2 ** 30),
    os: `${os.type()} ${os.release()}`,
    node: process.versions.node,
    postgresql: 'not started',
    pgbench: command(process.env.PGBENCH ?? 'pgbench', ['--version']),
    pg: packageVersion('pg'),
    yaml: packageVersion('yaml'),
    date: new Date().toISOString(),
    commit: `${command('git', ['rev-parse', '--short', 'HEAD'])}${dirty}`,
    loadAverage: { start: os.loadavg()[0]! },
  };
}

/** True when nothing accepts connections on the port any more. */
function portClosed(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host, port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(false);
    });
    socket.once('error', () => resolve(true));
  });
}

async function main(): Promise<number> {
  const started = performance.now();
  const runs = Number(argValue('runs') ?? 5);
  if (!Number.isInteger(runs) || runs < 1)
    throw new Error(`--runs must be a whole number >= 1, not ${argValue('runs')}`);
  const machine = machineInfo();
  const rows: BenchRow[] = [];
  const raw: Record<string, unknown> = {};
  const failures: string[] = [];

  const build = buildForBench(root, say, process.argv.includes('--skip-build'));
  const sizes = measureSizes(root, build);
  raw.sizes = sizes.bytes;

  say('starting a throwaway PostgreSQL ...');
  let server: BenchServer;
  try {
    server = await startBenchServer((line) => say(line));
  } catch (error) {
    say(`cannot run: the benchmark server did not start: ${(error as Error).message}`);
    return 2;
  }
  machine.postgresql = server.serverVersion;

  const only = argValue('only')?.split(',');
  const section = async (
    key: string,
    name: string,
    run: () => Promise<{ rows: BenchRow[]; raw: unknown }>,
  ) => {
    if (only && !only.includes(key)) return;
    say(name);
    try {
      const result = await run();
      rows.push(...result.rows);
      raw[name] = result.raw;
    } catch (error) {
      const message = (error as Error).message.split('\n')[0]!;
      failures.push(`${name}: ${message}`);
      rows.push(missingRow(name, 'could not be measured', message));
      say(`  FAILED: ${message}`);
    }
  };
  try {
    await section('1', '1. Open N connections at once', () =>
      measureConnections(server, [35, 90], runs, say),
    );
    await section('2', '2./3. Capacity and burst tests', () =>
      measureLoadShapes(server, ['trust', 'scram'], runs, say),
    );
    await section('4', '4. Diagnostics', () => measureDiagnostics(server.targets.scram, say));
    await section('5', '5. Status bar polling', () => measureStatusPolling(server, say));
    // Each run takes seconds (1,000 SCRAM handshakes through PgBouncer): at most 3 runs.
    await section('6', '6. Load held', () => measureHeldLoad(server, Math.min(runs, 3), say));
    // 1,000 edits, each waiting for its diagnostics: about two minutes per config.
    await section('7', '7. Language server memory', () => measureServerMemory(server.targets.scram, say));
  } finally {
    await server.cluster.stop();
  }
  rows.push(...sizes.rows);
  if (!(await portClosed(server.cluster.host, server.cluster.port))) {
    failures.push(`the benchmark server still listens on ${server.cluster.host}:${server.cluster.port}`);
  }
  machine.loadAverage.end = os.loadavg()[0]!;

  const table = textTable(rows, machine);
  process.stdout.write(`\n${table}\n\n`);
  mkdirSync(resultsDir, { recursive: true });
  const missed = rows
    .filter((r) => r.goal && !r.goal.met)
    .map((r) => `${r.section} — ${r.label}: ${r.goal!.text}`);
  writeFileSync(
    path.join(resultsDir, 'latest.json'),
    `${JSON.stringify(
      {
        machine,
        runs,
        durationMs: Math.round(performance.now() - started),
        rows,
        goalsMissed: missed,
        failures,
        samples: raw,
      },
      null,
      2,
    )}\n`,
  );
  writeFileSync(path.join(resultsDir, 'latest.md'), markdownTable(rows, machine));
  say(
    `wrote bench/results/latest.json and latest.md in ${((performance.now() - started) / 1000).toFixed(0)} s`,
  );
  say(missed.length ? `goals missed: ${missed.length} (see notes)` : 'every goal met');
  if (failures.length) {
    say(`could not measure everything:\n  ${failures.join('\n  ')}`);
    return 1;
  }
  return 0;
}

// The PostgreSQL harness stops its server on exit and on these signals; leave with the usual code.
for (const signal of ['SIGINT', 'SIGTERM'] as const) process.on(signal, () => process.exit(130));

main().then(
  (code) => process.exit(code),
  (error) => {
    say(`cannot run: ${(error as Error).stack ?? String(error)}`);
    process.exit(2);
  },
);
