import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { PoolerFacts } from '../../../server/src/core/capacity/poolerFacts';
import { diagnose, type PoolOutcomes } from '../../../server/src/core/capacity/rules';
import { resolveConfig } from '../../../server/src/io/config/configFiles';
import { settingsDefaults } from '../../../shared/settings';
import { facts, LAYOUT_A, pgBouncerFacts, rangeOf } from '../testSupport';

const limits = pgBouncerFacts;

async function findings(pooler: PoolerFacts, pg: Parameters<typeof facts>[0] = {}) {
  const config = await resolveConfig('/x/.claude-flow/config.yaml', LAYOUT_A, {
    DPG_CLUSTER_PASSWORD: 'a',
    SHARED_DB_PASSWORD: 'b',
  });
  const f = facts({ ...pg, pooler });
  const outcomes: PoolOutcomes = { project: { ok: true, facts: f }, shared: { ok: true, facts: f } };
  return diagnose(config, outcomes, { ...settingsDefaults, trustedHosts: ['db.internal'] });
}

describe('pooler rules', () => {
  it('judges the pools against max_client_conn, not max_connections', async () => {
    // max_connections 30 would refuse 55 directly; PgBouncer with 100 client slots takes them.
    assert.deepEqual(await findings(limits(), { maxConnections: 60 }), []);
    const found = await findings(limits({ maxClientConn: 50, otherClients: 4 }), { maxConnections: 60 });
    // 46 free, 5 kept for headroom: 41 for both. project alone: 41 - 15 = 26; shared alone: 41 - 40 = 1;
    // all together in proportion: 41 x 40/55 = 29, 41 x 15/55 = 11.
    assert.deepEqual(
      found.map((d) => [d.code, d.pool, d.range, d.fixes?.map((f) => f.newSize)]),
      [
        ['pool-exceeds-pooler', 'project', rangeOf(LAYOUT_A, '40'), [26, 29]],
        ['pool-exceeds-pooler', 'shared', rangeOf(LAYOUT_A, '15'), [1, 11]],
      ],
    );
    assert.match(
      found[0]!.message,
      /^project 40 \+ shared 15 = 55 > 46 client slots free on PgBouncer db\.internal:5432: /,
    );
    assert.equal(
      found[0]!.fixes![1]!.title,
      'Resize all pools on this server (project 29, shared 11) (below the 35-agent target)',
    );
  });

  it('low-headroom on max_client_conn', async () => {
    const found = await findings(limits({ maxClientConn: 60 }), { maxConnections: 60 });
    assert.deepEqual(
      found.map((d) => [d.code, d.pool, d.fixes?.[0]?.newSize]),
      [
        ['low-headroom', 'project', 39],
        ['low-headroom', 'shared', 14],
      ],
    );
    assert.match(
      found[0]!.message,
      /leaves 5 of 60 client slots free on PgBouncer db\.internal:5432, under the headroom of 6/,
    );
  });

  it("pooler-exceeds-server counts its server pools per user and database, capped by the pools' need", async () => {
    // project (dpg_cluster) min(20, 40) + shared (shared_user) min(20, 15) = 35 > 27 free.
    const found = await findings(limits(), { maxConnections: 30 });
    assert.deepEqual(
      found.map((d) => d.code),
      ['pooler-exceeds-server', 'pooler-exceeds-server'],
    );
    assert.match(found[0]!.message, /may open 35 server connections/);
    // Its own open server connections are among PostgreSQL's "others" but belong to these pools.
    assert.deepEqual(
      await findings(limits({ serverConnections: 10 }), { maxConnections: 40, usedByOthers: 10 }),
      [],
    );
  });

  it('behind-pooler information on the pool key when the admin console is closed', async () => {
    const found = await findings({ kind: 'pgbouncer', backendPort: null, limitsUnreadable: 'not allowed' });
    assert.deepEqual(
      found.map((d) => [d.code, d.severity, d.range]),
      [
        ['behind-pooler', 'information', rangeOf(LAYOUT_A, 'project')],
        ['behind-pooler', 'information', rangeOf(LAYOUT_A, 'shared')],
      ],
    );
  });
});
