// The status bar item shows the fixture server's live connection count, as the server itself counts it.
import * as assert from 'node:assert/strict';
import type pg from 'pg';
import type { PoolCapacityApi } from '../../../client/src/poolCapacityContext';
import { activateExtension, connectAsSuperuser, countClientBackends, fixture, pollUntil } from './harness';

/** The language server polls every 2 s by default; allow a few rounds for the count to settle. */
const SETTLE_MS = 10_000;

describe('the status bar item', () => {
  let api: PoolCapacityApi;
  let superuser: pg.Client;
  const extra: pg.Client[] = [];

  before(async () => {
    api = await activateExtension();
    superuser = await connectAsSuperuser();
  });

  after(async () => {
    await Promise.all([...extra, superuser].map((c) => c?.end().catch(() => {})));
  });

  /**
   * Waits until the item shows `$(database) N/max_connections` with N what pg_stat_activity counts
   * now; the two are read a poll apart, so a change in between is waited out.
   */
  async function liveCountShown(): Promise<number> {
    let last = '';
    return pollUntil(
      async () => {
        const text = api.statusText();
        const server = await countClientBackends(superuser);
        last = `status "${text}", server ${server}`;
        const shown = /^\$\(database\) (\d+)\/(\d+)$/.exec(text);
        if (!shown || Number(shown[2]) !== fixture.maxConnections) return undefined;
        return Number(shown[1]) === server ? server : undefined;
      },
      () => `the status bar never showed the server's count: last ${last}`,
      SETTLE_MS,
    );
  }

  it('shows the live count of client backends out of max_connections', async () => {
    const count = await liveCountShown();
    // At least this suite's own connection is counted.
    assert.ok(count >= 1, `count ${count}`);
    const tooltip = api.statusTooltip();
    assert.ok(
      tooltip.includes(
        `**${fixture.host}:${fixture.port}** — ${count} of ${fixture.maxConnections} connections`,
      ),
      tooltip,
    );
    assert.ok(
      tooltip.includes(`Pools: project ${fixture.project.poolSize}, shared ${fixture.shared.poolSize}`),
      tooltip,
    );
  });

  it('follows the server when clients connect', async () => {
    const before = await liveCountShown();
    for (let i = 0; i < 3; i++) extra.push(await connectAsSuperuser(`vscode-suite-extra-${i}`));
    const after = await liveCountShown();
    assert.ok(after >= before + 3, `before ${before}, after 3 more connections ${after}`);
    await Promise.all(extra.splice(0).map((c) => c.end()));
  });
});
