// The baseline of bench section 6: what a user would write without the product, in plain
// node-postgres, run as its own process so its peak memory can be measured like the CLI's.
// Usage: node bench/rawHeldLoad.mjs '<json>' with {host, port, database, user, password, agents,
// holdMs, poolSize?}: without poolSize every agent opens its own client (as the engine's pool of
// size >= agents does); with it, a pg.Pool of that size queues the agents.
// Prints {"wallMs": n} timed from the first agent's start to the last release, like the report.
import pg from 'pg';

const spec = JSON.parse(process.argv[2]);
const connection = {
  host: spec.host,
  port: spec.port,
  database: spec.database,
  user: spec.user,
  password: spec.password,
  connectionTimeoutMillis: 60_000,
};
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
let failed = 0;
const t0 = performance.now();
if (spec.poolSize) {
  const pool = new pg.Pool({ ...connection, max: spec.poolSize });
  pool.on('error', () => {});
  await Promise.all(
    Array.from({ length: spec.agents }, async () => {
      try {
        const client = await pool.connect();
        try {
          await client.query('SELECT 1');
          await sleep(spec.holdMs);
        } finally {
          client.release();
        }
      } catch {
        failed++;
      }
    }),
  );
  const wallMs = performance.now() - t0;
  await pool.end();
  console.log(JSON.stringify({ wallMs, failed }));
} else {
  const clients = [];
  await Promise.all(
    Array.from({ length: spec.agents }, async () => {
      const client = new pg.Client(connection);
      client.on('error', () => {});
      clients.push(client);
      try {
        await client.connect();
        await client.query('SELECT 1');
        await sleep(spec.holdMs);
      } catch {
        failed++;
      }
    }),
  );
  const wallMs = performance.now() - t0;
  await Promise.all(clients.map((c) => c.end().catch(() => {})));
  console.log(JSON.stringify({ wallMs, failed }));
}
