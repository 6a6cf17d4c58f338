/**
 * The dashboard's two requests through the real language server over stdio, against a real
 * PostgreSQL: the capacity bars of a config (CapacityView) and the capacity sweep (RunSweep), whose
 * every step meets the load-test safety check.
 */
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { pathToFileURL } from 'node:url';
import { LspSession } from '../../harness/lspSession';
import { type Cluster, startCluster } from '../../harness/pgCluster';
import {
  CapacityViewRequest,
  LoadTestProgressNotification,
  type LoadTestProgressParams,
  RunSweepRequest,
} from '../../shared/protocol';

const PASSWORD = 'lsp-dash-Secret-77';

describe('the dashboard requests through the language server (max_connections 16)', () => {
  let cluster: Cluster;
  let dir: string;
  let uri: string;
  let lsp: LspSession;

  before(async () => {
    cluster = await startCluster({ maxConnections: 16, superuserReservedConnections: 3 });
    await cluster.createRole('agent', { password: PASSWORD });
    dir = await mkdtemp(join(tmpdir(), 'pool-capacity-lsp-dash-'));
    await mkdir(join(dir, '.claude-flow'));
    const configPath = join(dir, '.claude-flow', 'config.yaml');
    uri = pathToFileURL(configPath).toString();
    await writeFile(
      configPath,
      `swarm:\n  maxAgents: 4\nmemory:\n  postgresql:\n    project:\n      host: 127.0.0.1\n      port: ${cluster.port}\n      database: postgres\n      user: agent\n      password: \${AGENT_PW}\n      poolSize: 6\n`,
    );
    await writeFile(join(dir, '.env'), `AGENT_PW=${PASSWORD}\n`);
    lsp = new LspSession({ workspace: dir });
    await lsp.initialize();
  });

  after(async () => {
    await lsp?.close();
    await rm(dir, { recursive: true, force: true });
    await cluster?.stop();
  });

  it("returns the server's bar from the budget: reserved 3, the pool 6, the rest free", async () => {
    const { view, message } = await lsp.connection.sendRequest(CapacityViewRequest.type, { configUri: uri });
    assert.equal(message, undefined);
    const bar = view!.bars[0]!;
    assert.equal(bar.limit, 16);
    assert.equal(bar.usable, 13);
    const slots = Object.fromEntries(bar.segments.map((s) => [s.label, s.slots]));
    const others = slots['used by other clients'] ?? 0;
    assert.equal(slots['reserved (superuser_reserved_connections 3)'], 3);
    assert.equal(slots['project pool'], 6);
    assert.equal(slots.free, 16 - 3 - others - 6);
    assert.ok(!JSON.stringify(view).includes(PASSWORD));
  });

  it('sweeps 2..10 by 4 (direct) until the safety check refuses a step, keeping the steps that ran', async () => {
    const progress: LoadTestProgressParams[] = [];
    const listener = lsp.connection.onNotification(LoadTestProgressNotification.type, (p) =>
      progress.push(p),
    );
    const result = await lsp.connection.sendRequest(RunSweepRequest.type, {
      configUri: uri,
      options: { durationMs: 50, mode: 'direct' },
      range: { from: 2, to: 10, step: 4 },
      progressId: 'sweep-1',
    });
    listener.dispose();
    assert.equal(result.outcome, 'done', JSON.stringify(result));
    if (result.outcome !== 'done') return;
    // Direct mode, one connection per agent: 13 usable less a margin of 3 takes 2 and 6 agents (+ the
    // observer), not 10 + 1.
    assert.deepEqual(
      result.sweep.steps.map((s) => [s.agents, s.successRate]),
      [
        [2, 1],
        [6, 1],
      ],
    );
    assert.equal(result.sweep.stoppedAt?.agents, 10);
    assert.match(result.sweep.stoppedAt!.reason, /^refused by the safety check: /);
    assert.equal(result.sweep.usableSlots, 13);
    assert.equal(result.sweep.poolSize, 6);
    assert.equal(result.reports.length, 2);
    assert.match(result.table, /^Note\s+stopped at 10 agents: refused by the safety check/m);
    assert.ok(progress.some((p) => p.progressId === 'sweep-1' && /^step 1\/3 \(2 agents\)/.test(p.message)));
    assert.ok(!JSON.stringify(result).includes(PASSWORD));
  });

  it('refuses the sweep outright when its first step would break the margin', async () => {
    const result = await lsp.connection.sendRequest(RunSweepRequest.type, {
      configUri: uri,
      options: { durationMs: 50, mode: 'direct' },
      range: { from: 12, to: 14, step: 1 },
      progressId: 'sweep-2',
    });
    assert.equal(result.outcome, 'refused');
  });
});
