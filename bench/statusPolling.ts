/**
 * 5. Status bar polling: the time one poll takes and the server connections it opens (the poller
 * keeps one connection per server, so every poll after the first must open none).
 */
import pg from 'pg';
import { STATUS_APPLICATION_NAME } from '../server/src/core/capacity/serverFacts';
import { StatusPoller } from '../server/src/io/probe/statusPoller';
import type { BenchServer } from './benchCluster';
import { type BenchRow, compared, summarize } from './measure';

export async function measureStatusPolling(
  server: BenchServer,
  log: (line: string) => void,
): Promise<{ rows: BenchRow[]; raw: Record<string, number[]> }> {
  const target = server.targets.scram;
  const poller = new StatusPoller({ connectTimeoutMs: 3000, headroomThreshold: 0.1 });
  // Baseline: the least a status read can be, one kept-open client counting pg_stat_activity.
  const baseline = new pg.Client({
    host: target.host,
    port: target.port,
    database: target.database,
    user: target.user,
    password: target.password,
  });
  baseline.on('error', () => {});
  const section = '5. Status bar polling';
  try {
    await baseline.connect();
    poller.watch([
      { target, pools: [{ name: 'project', poolSize: 40, configUri: 'file:///bench/config.yaml' }] },
    ]);
    const first = await poller.poll();
    if (first[0]?.state !== 'ok') throw new Error(`first poll failed: ${JSON.stringify(first[0])}`);
    const openedAfterFirst = poller.connectionsOpened;
    const polls: number[] = [];
    const raw: number[] = [];
    const perPoll: number[] = [];
    for (let i = 0; i < 210; i++) {
      const before = poller.connectionsOpened;
      const t0 = performance.now();
      const status = await poller.poll();
      const t1 = performance.now();
      await baseline.query('SELECT count(*)::int AS n FROM pg_stat_activity');
      const t2 = performance.now();
      if (status[0]?.state !== 'ok') throw new Error(`poll ${i} failed: ${JSON.stringify(status[0])}`);
      if (i >= 10) {
        polls.push(t1 - t0);
        raw.push(t2 - t1);
        perPoll.push(poller.connectionsOpened - before);
      }
    }
    const onServer = await server.cluster.countConnections(STATUS_APPLICATION_NAME);
    const value = summarize(polls, 'ms', true);
    const base = summarize(raw, 'ms', true);
    const opened = summarize(perPoll, 'count');
    log(
      `  status poll: p50 ${value.median.toFixed(2)} / p95 ${value.p95!.toFixed(2)} ms, raw ${base.median.toFixed(2)} ms; new connections per poll max ${opened.max}, status connections on server ${onServer}`,
    );
    return {
      rows: [
        compared({
          section,
          label: 'time per poll (1 server)',
          value,
          baseline: { label: 'raw pg count(*), kept-open client', value: base },
          note: `first poll opened ${openedAfterFirst} connection; ${polls.length} polls back to back (the server polls every 2 s)`,
        }),
        {
          section,
          label: 'new server connections per poll after the first',
          value: opened,
          goal: {
            text: '0',
            met: opened.max === 0 && onServer === 1,
          },
          note: `status connections seen on the server after ${polls.length + 11} polls: ${onServer}`,
        },
      ],
      raw: { 'status-poll': polls, 'status-poll-raw-pg': raw, 'status-new-connections': perPoll },
    };
  } finally {
    await poller.dispose();
    await baseline.end().catch(() => {});
  }
}
