import pg from 'pg';
import { startBenchServer } from './benchCluster';
import { openConnection } from '../server/src/db/openConnection';
async function rawConnect(t: any, n: number, product: boolean) {
  const t0 = performance.now();
  const clients = await Promise.all(Array.from({ length: n }, async () => {
    if (product) return openConnection(t, { connectTimeoutMs: 3000, applicationName: 'x' });
    const c = new pg.Client({ host: t.host, port: t.port, user: t.user, password: t.password ?? '', database: t.database });
    await c.connect(); return c;
  }));
  const ms = performance.now() - t0;
  await Promise.all(clients.map((c) => c.end()));
  return ms;
}
async function main() {
  const s = await startBenchServer(console.log);
  try {
    for (const auth of ['trust', 'scram'] as const) for (const n of [35, 90]) for (const product of [false, true]) {
      const r: number[] = [];
      for (let i = 0; i < 6; i++) { r.push(await rawConnect(s.targets[auth], n, product)); await new Promise((x) => setTimeout(x, 200)); }
      console.log(auth, n, product ? 'openConnection' : 'raw pg', r.map((x) => x.toFixed(0)).join(' '));
    }
  } finally { await s.cluster.stop(); }
}
main().catch((e) => { console.error(e); process.exit(1); });
