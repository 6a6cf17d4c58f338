/**
 * The dashboard's Patroni member bars: one per member, from judgeCluster's budgets (the judgement
 * behind the Patroni diagnostics and the report's Member and Failover lines), with exact figures.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { capacityPlan, formatCapacityReport } from '../../../server/src/core/capacity/capacityReport';
import type { PoolOutcomes } from '../../../server/src/core/capacity/rules';
import {
  configuredMaxConnections,
  parseClusterResponse,
} from '../../../server/src/core/cluster/patroniParse';
import { judgeCluster } from '../../../server/src/core/cluster/patroniRules';
import { capacityView } from '../../../server/src/core/dashboard/capacityBars';
import { dashboardModel } from '../../../server/src/core/dashboard/dashboardModel';
import { renderHtmlReport } from '../../../server/src/core/dashboard/htmlReport';
import { resolveConfig } from '../../../server/src/io/config/configFiles';
import { settingsDefaults } from '../../../shared/settings';
import { facts } from '../testSupport';

const CONFIG = `memory:
  postgresql:
    mode: patroni-ha
    patroni:
      enabled: true
      apiHosts: [10.0.0.1]
      apiPort: 8008
      database: app
      user: app
      password: \${PATRONI_PASSWORD}
      maxConnections: 40
`;

// pg1 leads; pg0 may be promoted; pg2 is tagged nofailover and its PostgreSQL did not answer.
const CLUSTER = {
  members: [
    { name: 'pg0', role: 'replica', state: 'streaming', host: '127.0.0.1', port: 58010, lag: 0 },
    { name: 'pg1', role: 'leader', state: 'running', host: '127.0.0.1', port: 58011 },
    {
      name: 'pg2',
      role: 'replica',
      state: 'streaming',
      host: '127.0.0.1',
      port: 58012,
      lag: 0,
      tags: { nofailover: true },
    },
  ],
};

async function plan() {
  const config = await resolveConfig('/x/.claude-flow/config.yaml', CONFIG, {
    PATRONI_PASSWORD: 'pw-member-7',
  });
  const outcomes: PoolOutcomes = {
    cluster: {
      ok: true,
      view: {
        api: '10.0.0.1:8008',
        state: parseClusterResponse(CLUSTER),
        configuredMaxConnections: configuredMaxConnections({
          postgresql: { parameters: { max_connections: 100 } },
        }).value,
        memberStatus: {},
        attempts: [],
        readAt: 0,
      },
      probes: {
        pg0: { ok: true, facts: facts({ maxConnections: 50, usedByOthers: 12 }) },
        pg1: { ok: true, facts: facts({ maxConnections: 100, usedByOthers: 2 }) },
        pg2: {
          ok: false,
          failure: { class: 'connection-refused', code: 'ECONNREFUSED', message: 'connection refused' },
        },
      },
    },
  };
  return { config, outcomes, plan: capacityPlan(config, outcomes, settingsDefaults) };
}

describe('Patroni member bars', () => {
  it('draws the leader first, as it is, then each replica as if promoted, from the budgets of judgeCluster', async () => {
    const { config, outcomes, plan: p } = await plan();
    const view = capacityView(p, 'ha/.claude-flow/config.yaml', new Date('2026-01-01T00:00:00Z'));
    const members = view.bars.filter((b) => b.kind === 'member');
    assert.deepEqual(
      members.map((b) => [b.title, b.serverKey, b.status]),
      [
        ['Patroni leader pg1 (127.0.0.1:58011) — PostgreSQL 15.18', '127.0.0.1:58011', 'OK'],
        ['Patroni replica pg0 (127.0.0.1:58010) (if promoted) — PostgreSQL 15.18', '127.0.0.1:58010', 'FAIL'],
        ['Patroni replica pg2 (127.0.0.1:58012) (nofailover: never promoted)', '127.0.0.1:58012', 'UNJUDGED'],
      ],
    );
    const [pg1, pg0, pg2] = members as [(typeof members)[0], (typeof members)[0], (typeof members)[0]];

    // The leader: 100 − 3 reserved − 2 others = 95 free; the pool's 40 leave 55, 10 kept as headroom.
    assert.deepEqual(
      pg1.segments.map((s) => [s.kind, s.label, s.slots]),
      [
        ['reserved', 'reserved (superuser_reserved_connections 3)', 3],
        ['others', 'used by other clients', 2],
        ['pool', 'patroni pool', 40],
        ['free', 'free', 55],
      ],
    );
    assert.equal(pg1.limit, 100);
    assert.equal(pg1.usable, 97);
    assert.equal(pg1.headroomSlots, 10);
    assert.deepEqual(pg1.verdict, ['OK: the pools fit; 55 slots stay free, 10 of them kept as headroom']);
    assert.deepEqual(pg1.member, { name: 'pg1', role: 'leader', promotable: false, worstFailover: false });

    // pg0 promoted: 50 − 3 − 12 = 35 free for 40: five past the limit, the worst single failover.
    assert.deepEqual(
      pg0.segments.map((s) => [s.kind, s.slots]),
      [
        ['reserved', 3],
        ['others', 12],
        ['pool', 35],
        ['over', 5],
      ],
    );
    assert.equal(pg0.limit, 50);
    assert.equal(pg0.headroomSlots, 5);
    assert.match(pg0.verdict[0]!, /^patroni 40 > 35 free on pg0 \(127\.0\.0\.1:58010\)/);
    assert.equal(
      pg0.verdict.at(-1),
      'After the worst single failover (to pg0 (127.0.0.1:58010)): patroni 40 > 35 free — 5 connections short.',
    );
    assert.deepEqual(pg0.member, { name: 'pg0', role: 'replica', promotable: true, worstFailover: true });
    assert.deepEqual(pg0.remedies, []);

    // pg2 not read: no figures are made up for it.
    assert.deepEqual(pg2.segments, []);
    assert.deepEqual(pg2.verdict, ['not read (connection refused): the pool is not judged on this member']);

    // The same judgement as the diagnostics' and the report's: the free slots and the failover.
    const judgement = judgeCluster(config, outcomes, settingsDefaults)!;
    assert.deepEqual(
      judgement.members.map((m) => m.budget?.free),
      [35, 95, undefined],
    );
    assert.equal(judgement.failover.worst?.member.name, 'pg0');
    const report = formatCapacityReport(p);
    assert.match(
      report,
      /^Failover\s+After the worst single failover \(to pg0 \(127\.0\.0\.1:58010\)\): patroni 40 > 35 free/m,
    );
  });

  it('reach the HTML report: its model carries the member bars, password-free', async () => {
    const { plan: p } = await plan();
    const model = dashboardModel({
      configLabel: 'ha/.claude-flow/config.yaml',
      capacity: capacityView(p, 'ha/.claude-flow/config.yaml'),
    });
    const html = renderHtmlReport(model, { script: '', css: '' });
    const data = JSON.parse(
      /<script type="application\/json" id="dashboard-data">([\s\S]*?)<\/script>/
        .exec(html)![1]!
        .replace(/\\u003c/g, '<'),
    ) as typeof model;
    assert.deepEqual(
      data.capacity!.bars.filter((b) => b.kind === 'member').map((b) => [b.member!.name, b.status, b.limit]),
      [
        ['pg1', 'OK', 100],
        ['pg0', 'FAIL', 50],
        ['pg2', 'UNJUDGED', 0],
      ],
    );
    assert.ok(!html.includes('pw-member-7'));
  });
});
