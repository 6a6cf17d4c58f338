import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { LspSession } from '../../harness/lspSession';
import { type Cluster, startCluster } from '../../harness/pgCluster';
import { StatusNotification, type StatusParams } from '../../shared/protocol';

describe('status polling when the server dies and comes back', () => {
  let cluster: Cluster;
  let dir: string;
  let lsp: LspSession | undefined;

  before(async () => {
    cluster = await startCluster({ maxConnections: 25 });
    await cluster.createRole('watch', { password: 'watch-pw-31' });
    dir = await mkdtemp(join(tmpdir(), 'pool-capacity-status-'));
    await mkdir(join(dir, '.claude-flow'));
    await writeFile(
      join(dir, '.claude-flow', 'config.yaml'),
      `memory:\n  postgresql:\n    project:\n      host: 127.0.0.1\n      port: ${cluster.port}\n      database: postgres\n      user: watch\n      password: watch-pw-31\n      poolSize: 5\n`,
    );
  });

  after(async () => {
    await lsp?.close();
    await rm(dir, { recursive: true, force: true });
    await cluster?.stop();
  });

  it('shows the count, then unreachable, then recovers by itself over one kept-open connection', async () => {
    lsp = new LspSession({ workspace: dir, settings: { statusPollIntervalMs: 100, connectTimeoutMs: 1000 } });
    await lsp.initialize();
    const server = (s: StatusParams) => s.servers[0];
    const seen = (predicate: (s: StatusParams) => boolean) =>
      lsp!.waitForNotification<StatusParams>(
        StatusNotification.method,
        (s) => s.servers.length === 1 && predicate(s),
      );

    await seen((s) => server(s)!.state === 'ok');
    // Polling reuses its connection: after several polls there is still exactly one.
    const before = lsp.notifications.length;
    await lsp.waitForNotification<StatusParams>(
      StatusNotification.method,
      () => lsp!.notifications.length >= before + 3,
    );
    assert.equal(await cluster.countConnections('pool-capacity/status'), 1);

    lsp.notifications.length = 0;
    await cluster.kill();
    const down = await seen((s) => server(s)!.state === 'unreachable');
    assert.match(server(down)!.error!, /connection refused|connection lost|server starting/);
    assert.ok(!JSON.stringify(down).includes('watch-pw-31'));

    lsp.notifications.length = 0;
    await cluster.restart();
    const up = await seen((s) => server(s)!.state === 'ok');
    assert.equal(server(up)!.maxConnections, 25);
    assert.equal(await cluster.waitForConnections('pool-capacity/status', 1), 1);
  });
});
