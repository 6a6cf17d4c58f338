import pg from 'pg';
import { startBenchServer, waitForQuietServer } from './benchCluster';
import { runLoadTest } from '../server/src/loadtest/engine';
import { loadTestDefaults } from '../shared/loadTest';
import { settingsDefaults } from '../shared/settings';
async function raw(t: any, n: number) {
  const t0 = performance.now();
  const clients = await Promise.all(Array.from({ length: n }, async () => {
    const c = new pg.Client({ host: t.host, port: t.port, user: t.user, password: t.password ?? '', database: t.database });
    await c.connect(); await c.query('SELECT 1'); return c;
  }));
  const ms = performance.now() - t0;
  await Promise.all(clients.map((c) => c.end()));
  return ms;
}
async function main() {
  const s = await startBenchServer(console.log);
  const n = Number(process.argv[2] ?? 35);
  try {
    const t = s.targets.trust;
    const a: number[] = [], b: number[] = [], c: number[] = [];
    for (let i = 0; i < 10; i++) {
      await waitForQuietServer(s);
      a.push(await raw(t, n));
      await waitForQuietServer(s);
      const t0 = performance.now();
      const r = await runLoadTest([{ name: 'project', poolSize: n, target: t }], { ...loadTestDefaults, shape: 'capacity', agents: n, mode: 'direct', durationMs: 0, force: true }, { settings: settingsDefaults });
      c.push(performance.now() - t0);
      b.push(r.phases[0]!.wallMs);
    }
    console.log('raw', a.map((x) => x.toFixed(0)).join(' '));
    console.log('engine phase', b.map((x) => x.toFixed(0)).join(' '));
    console.log('engine total', c.map((x) => x.toFixed(0)).join(' '));
  } finally { await s.cluster.stop(); }
}
main().catch((e) => { console.error(e); process.exit(1); });
