import { startBenchServer } from './benchCluster';
import { measureConnections } from './connections';
async function main() {
  const s = await startBenchServer(console.log);
  try {
    const r = await measureConnections(s, [35, 90], 3, console.log);
    console.log(JSON.stringify(r.raw));
  } finally { await s.cluster.stop(); }
}
main().catch((e) => { console.error(e); process.exit(1); });
