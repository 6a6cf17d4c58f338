/**
 * The Patroni parser, settings and rules (pure), fed with the REST answers measured on a real
 * Patroni 3.0.2 cluster (../shared/docs/patroni.md).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { diagnose, type PoolOutcomes } from '../../../server/src/core/capacity/rules';
import { poolVerifications } from '../../../server/src/core/capacity/unverifiedPools';
import type { PatroniClusterView } from '../../../server/src/core/cluster/patroniParse';
import {
  configuredMaxConnections,
  leaderOf,
  parseClusterResponse,
  parsePatroniStatus,
  promotable,
} from '../../../server/src/core/cluster/patroniParse';
import { clusterJson, judgeCluster } from '../../../server/src/core/cluster/patroniRules';
import {
  inactiveReason,
  parseEndpoint,
  patroniInUse,
  patroniSettings,
} from '../../../server/src/core/cluster/patroniSettings';
import { resolveConfig } from '../../../server/src/io/config/configFiles';
import { settingsDefaults } from '../../../shared/settings';
import { facts } from '../testSupport';

// GET /cluster, verbatim from a 3-member run (pg1 leader, pg2 pending restart).
const CLUSTER = {
  members: [
    {
      name: 'pg0',
      role: 'replica',
      state: 'running',
      api_url: 'http://127.0.0.1:58020/patroni',
      host: '127.0.0.1',
      port: 58010,
      timeline: 4,
      lag: 0,
    },
    {
      name: 'pg1',
      role: 'leader',
      state: 'running',
      api_url: 'http://127.0.0.1:58021/patroni',
      host: '127.0.0.1',
      port: 58011,
      timeline: 4,
    },
    {
      name: 'pg2',
      role: 'replica',
      state: 'running',
      api_url: 'http://127.0.0.1:58022/patroni',
      host: '127.0.0.1',
      port: 58012,
      timeline: 4,
      pending_restart: true,
      lag: 0,
    },
  ],
};

// GET /config
const CONFIG = {
  ttl: 10,
  loop_wait: 1,
  retry_timeout: 4,
  maximum_lag_on_failover: 1048576,
  postgresql: {
    use_pg_rewind: true,
    use_slots: true,
    parameters: {
      max_connections: 100,
      max_wal_senders: 10,
      max_replication_slots: 10,
      wal_keep_size: '128MB',
      wal_retrieve_retry_interval: '500ms',
      fsync: 'off',
      synchronous_commit: 'off',
      checkpoint_timeout: '30min',
    },
  },
};

// GET /patroni on the leader
const LEADER_STATUS = {
  state: 'running',
  postmaster_start_time: '2026-11-28 04:37:33.322949+00:00',
  role: 'master',
  server_version: 150018,
  xlog: { location: 67315264 },
  timeline: 4,
  replication: [
    {
      usename: 'replicator',
      application_name: 'pg2',
      client_addr: '127.0.0.1',
      state: 'streaming',
      sync_state: 'async',
      sync_priority: 0,
    },
  ],
  dcs_last_seen: 1795840681,
  database_system_identifier: '7713076786029081807',
  patroni: { version: '3.0.2', scope: 'pgtest' },
};

const CONFIG_TEXT = (maxConnections: number, extra = '') => `memory:
  postgresql:
    mode: patroni-ha
    singleNode:
      project:
        host: localhost
        database: project_db
        poolSize: 30
    patroni:
      enabled: false
      apiHosts: [10.0.0.1, "10.0.0.2:9008"]
      apiPort: 8008
      database: distributed_postgres_cluster
      user: dpg_cluster
      password: \${PATRONI_PASSWORD}
      minConnections: 2
      maxConnections: ${maxConnections}
${extra}`;

const load = (text: string) =>
  resolveConfig('/nowhere/.claude-flow/config.yaml', text, { PATRONI_PASSWORD: 'pw-unit-9' });

function view(cluster: unknown = CLUSTER, config: unknown = CONFIG): PatroniClusterView {
  return {
    api: '10.0.0.1:8008',
    state: parseClusterResponse(cluster),
    configuredMaxConnections: configuredMaxConnections(config).value,
    memberStatus: {},
    attempts: [],
    readAt: 0,
  };
}

const ok = (overrides: Parameters<typeof facts>[0] = {}) => ({ ok: true as const, facts: facts(overrides) });

describe('Patroni REST parser', () => {
  it('reads members, roles, lag, timeline, pending_restart from GET /cluster', () => {
    const state = parseClusterResponse(CLUSTER);
    assert.deepEqual(
      state.members.map((m) => [m.name, m.role, m.state, m.port, m.timeline, m.lag, m.pendingRestart]),
      [
        ['pg0', 'replica', 'running', 58010, 4, 0, false],
        ['pg1', 'leader', 'running', 58011, 4, undefined, false],
        ['pg2', 'replica', 'running', 58012, 4, 0, true],
      ],
    );
    assert.equal(leaderOf(state)?.name, 'pg1');
    assert.deepEqual(
      promotable(state).map((m) => m.name),
      ['pg0', 'pg2'],
    );
    assert.equal(state.paused, false);
  });

  it('nofailover tags, "unknown" lag and 3.0.4+ "streaming" states', () => {
    const state = parseClusterResponse({
      members: [
        { ...CLUSTER.members[1] },
        { ...CLUSTER.members[0], state: 'streaming', lag: 'unknown' },
        { ...CLUSTER.members[2], tags: { nofailover: true } },
      ],
      pause: true,
    });
    assert.equal(state.members[1]!.lag, 'unknown');
    assert.equal(state.members[2]!.nofailover, true);
    assert.deepEqual(
      promotable(state).map((m) => m.name),
      ['pg0'],
    );
    assert.equal(state.paused, true);
  });

  it('refuses an answer that is not a Patroni cluster', () => {
    assert.throws(() => parseClusterResponse({ status: 'ok' }), /no "members" list/);
    assert.throws(() => parseClusterResponse({ members: [{ role: 'leader' }] }), /member 1 .* no name/);
  });

  it('max_connections from GET /config: absent or under 25 means 100, text is read', () => {
    assert.deepEqual(configuredMaxConnections(CONFIG), { value: 100, written: 100 });
    assert.deepEqual(configuredMaxConnections({ ttl: 10 }), { value: 100 });
    assert.equal(
      configuredMaxConnections({ postgresql: { parameters: { max_connections: 10 } } }).value,
      100,
    );
    assert.equal(
      configuredMaxConnections({ postgresql: { parameters: { max_connections: '150' } } }).value,
      150,
    );
  });

  it('GET /patroni: master (3.x) and primary (4.x) are the same role', () => {
    const leader = parsePatroniStatus(LEADER_STATUS);
    assert.equal(leader.role, 'primary');
    assert.equal(leader.version, '3.0.2');
    assert.equal(parsePatroniStatus({ ...LEADER_STATUS, role: 'primary' }).role, 'primary');
    assert.throws(() => parsePatroniStatus('503 Service Unavailable'), /no "state"/);
  });
});

describe('Patroni settings and active pools', () => {
  it('apiHosts entries with and without a port, IPv6', () => {
    assert.deepEqual(parseEndpoint('10.0.0.1', 8008), { host: '10.0.0.1', port: 8008 });
    assert.deepEqual(parseEndpoint('db1:9008', 8008), { host: 'db1', port: 9008 });
    assert.deepEqual(parseEndpoint('[::1]:9008', 8008), { host: '::1', port: 9008 });
    assert.deepEqual(parseEndpoint('::1', 8008), { host: '::1', port: 8008 });
    assert.equal(parseEndpoint('db1:99999', 8008), undefined);
    assert.equal(parseEndpoint('http://x', 8008), undefined);
  });

  it('the mode decides which layout is active', async () => {
    const ha = await load(CONFIG_TEXT(20));
    assert.equal(patroniInUse(ha.document), true);
    assert.match(inactiveReason(ha.document, 'project')!, /mode is patroni-ha/);
    assert.equal(inactiveReason(ha.document, 'patroni'), undefined);
    const settings = patroniSettings(ha.pools.find((p) => p.name === 'patroni')!.declaration);
    assert.deepEqual(settings.endpoints, [
      { host: '10.0.0.1', port: 8008 },
      { host: '10.0.0.2', port: 9008 },
    ]);
    assert.equal(settings.timeoutMs, 5000);
    const single = await load(CONFIG_TEXT(20).replace('mode: patroni-ha', 'mode: single-node'));
    assert.equal(patroniInUse(single.document), false);
    assert.equal(inactiveReason(single.document, 'project'), undefined);
    assert.match(inactiveReason(single.document, 'patroni')!, /single-node/);
    const enabled = await load(
      CONFIG_TEXT(20)
        .replace('mode: patroni-ha', 'mode: single-node')
        .replace('enabled: false', 'enabled: true'),
    );
    assert.equal(patroniInUse(enabled.document), true);
    assert.equal(inactiveReason(enabled.document, 'project'), undefined);
  });

  it('an unusable apiTimeout is an invalid-connection-setting and the cluster is not read', async () => {
    const config = await load(CONFIG_TEXT(20, '      apiTimeout: soon\n'));
    const found = diagnose(config, {}, settingsDefaults);
    assert.ok(
      found.some(
        (d) => d.code === 'invalid-connection-setting' && /apiTimeout must be a number/.test(d.message),
      ),
      JSON.stringify(found),
    );
    assert.equal(poolVerifications(config, {})[0]!.reason, 'invalid-connection-setting');
    // Also in single-node mode, where the block is not used: its values are still checked.
    const inactive = await load(
      CONFIG_TEXT(20, '      apiTimeout: soon\n').replace('mode: patroni-ha', 'mode: single-node'),
    );
    assert.ok(
      diagnose(inactive, {}, settingsDefaults).some((d) => /apiTimeout must be a number/.test(d.message)),
    );
  });

  it('an apiHosts entry with credentials is refused without showing its text', async () => {
    const config = await load(CONFIG_TEXT(20).replace('10.0.0.1,', '"admin:hunter2-x@10.0.0.1",'));
    const found = diagnose(config, {}, settingsDefaults).find((d) => d.code === 'invalid-connection-setting');
    assert.match(found?.message ?? '', /credentials in apiHosts are not supported/);
    assert.ok(!found!.message.includes('hunter2-x'));
  });
});

describe('Patroni rules', () => {
  const probes = (pg0: ReturnType<typeof ok>, pg1: ReturnType<typeof ok>, pg2: ReturnType<typeof ok>) => ({
    pg0,
    pg1,
    pg2,
  });
  // pg2 is pending restart in the sample; running 100 as configured otherwise.
  const quiet = () => probes(ok({ usedByOthers: 1 }), ok({ usedByOthers: 1 }), ok({ usedByOthers: 1 }));

  it('fits on the leader and after any failover: no findings, verified, failover ok', async () => {
    const config = await load(CONFIG_TEXT(20));
    const outcomes: PoolOutcomes = { cluster: { ok: true, view: view(), probes: quiet() } };
    const found = diagnose(config, outcomes, settingsDefaults).filter((d) => d.code !== 'pending-restart');
    assert.deepEqual(found, []);
    assert.deepEqual(
      poolVerifications(config, outcomes).map((v) => [v.name, v.verified]),
      [['patroni', true]],
    );
    const judgement = judgeCluster(config, outcomes, settingsDefaults)!;
    assert.equal(judgement.leader?.member.name, 'pg1');
    assert.equal(judgement.failover.verdict, 'ok');
  });

  it('pool-exceeds-server against the leader, naming it', async () => {
    const config = await load(CONFIG_TEXT(120));
    const outcomes: PoolOutcomes = { cluster: { ok: true, view: view(), probes: quiet() } };
    const found = diagnose(config, outcomes, settingsDefaults).find((d) => d.code === 'pool-exceeds-server');
    assert.ok(found);
    assert.match(found.message, /^patroni 120 > 96 free on leader pg1 \(127\.0\.0\.1:58011\)/);
  });

  it('failover-capacity names the replica and the shortfall; nofailover exempts it', async () => {
    const config = await load(CONFIG_TEXT(60));
    const busy = probes(ok({ usedByOthers: 51 }), ok({ usedByOthers: 1 }), ok({ usedByOthers: 1 }));
    const outcomes: PoolOutcomes = { cluster: { ok: true, view: view(), probes: busy } };
    const found = diagnose(config, outcomes, settingsDefaults).filter((d) => d.code === 'failover-capacity');
    assert.equal(found.length, 1);
    assert.match(found[0]!.message, /^patroni 60 > 46 free on pg0 \(127\.0\.0\.1:58010\)/);
    assert.match(found[0]!.message, /14 of the pool's connections would be refused/);
    const json = clusterJson(judgeCluster(config, outcomes, settingsDefaults), outcomes) as {
      failover: { verdict: string; worst: string; shortBy: number };
    };
    assert.deepEqual(
      [json.failover.verdict, json.failover.worst, json.failover.shortBy],
      ['fails', 'pg0', 14],
    );

    const tagged = {
      members: CLUSTER.members.map((m) => (m.name === 'pg0' ? { ...m, tags: { nofailover: true } } : m)),
    };
    const exempt: PoolOutcomes = { cluster: { ok: true, view: view(tagged), probes: busy } };
    assert.ok(!diagnose(config, exempt, settingsDefaults).some((d) => d.code === 'failover-capacity'));
  });

  it('fixes hold on the leader and after a failover', async () => {
    // pg0 has 46 free; the leader 96 (86 with its headroom of 10).
    const busy = probes(ok({ usedByOthers: 51 }), ok({ usedByOthers: 1 }), ok({ usedByOthers: 1 }));
    const failing = await load(CONFIG_TEXT(60));
    const outcomes: PoolOutcomes = { cluster: { ok: true, view: view(), probes: busy } };
    const failover = diagnose(failing, outcomes, settingsDefaults).find(
      (d) => d.code === 'failover-capacity',
    )!;
    assert.deepEqual(
      failover.fixes?.map((f) => [f.title, f.newSize]),
      [['Set maxConnections to 46', 46]],
    );
    const applied = await load(CONFIG_TEXT(46));
    assert.ok(
      !diagnose(applied, outcomes, settingsDefaults).some((d) => d.severity === 'error'),
      'the fix holds when applied',
    );
    // Over the leader too: its own fix (86) is capped to what the worst failover leaves (46).
    const over = await load(CONFIG_TEXT(120));
    const leaderFinding = diagnose(over, outcomes, settingsDefaults).find(
      (d) => d.code === 'pool-exceeds-server',
    )!;
    assert.deepEqual(
      leaderFinding.fixes?.map((f) => [f.title, f.newSize]),
      [['Set maxConnections to 46 (so it also fits after a failover to pg0)', 46]],
    );
  });

  it('pending-restart after a decrease: the pool will not fit once the members restart', async () => {
    const config = await load(CONFIG_TEXT(60));
    const lowered = { postgresql: { parameters: { max_connections: 50 } } };
    const outcomes: PoolOutcomes = { cluster: { ok: true, view: view(CLUSTER, lowered), probes: quiet() } };
    const found = diagnose(config, outcomes, settingsDefaults).find((d) => d.code === 'pending-restart');
    assert.ok(found);
    assert.match(found.message, /sets max_connections 50, but pg0 runs 100/);
    assert.match(
      found.message,
      /after the restart the pool does not fit on the leader: patroni 60 > 46 free \(max_connections 50\)/,
    );
  });

  it('pending-restart: configured and running values, and whether the pool fits after the restart', async () => {
    const config = await load(CONFIG_TEXT(120));
    const patched = { postgresql: { parameters: { max_connections: 150 } } };
    const outcomes: PoolOutcomes = { cluster: { ok: true, view: view(CLUSTER, patched), probes: quiet() } };
    const found = diagnose(config, outcomes, settingsDefaults).find((d) => d.code === 'pending-restart');
    assert.ok(found);
    assert.match(found.message, /sets max_connections 150, but pg0 runs 100, pg1 runs 100, pg2 runs 100/);
    assert.match(found.message, /Patroni flags pending_restart on pg2/);
    assert.match(found.message, /after the restart the pool fits on the leader: patroni 120 of 146 free/);
  });

  it('patroni-api-unreachable and no-leader are "not verified", with each address and why', async () => {
    const config = await load(CONFIG_TEXT(20));
    const down: PoolOutcomes = {
      cluster: {
        ok: false,
        attempts: [
          { api: '10.0.0.1:8008', why: 'connection refused' },
          { api: '10.0.0.2:9008', why: 'no answer within 5000 ms' },
        ],
        readAt: 0,
      },
    };
    const unreachable = diagnose(config, down, settingsDefaults);
    assert.deepEqual(
      unreachable.map((d) => [d.code, d.severity]),
      [['patroni-api-unreachable', 'warning']],
    );
    assert.match(
      unreachable[0]!.message,
      /10\.0\.0\.1:8008 \(connection refused\), 10\.0\.0\.2:9008 \(no answer/,
    );
    assert.equal(poolVerifications(config, down)[0]!.reason, 'patroni-api-unreachable');

    const leaderless = { members: CLUSTER.members.map((m) => ({ ...m, role: 'replica' })) };
    const none: PoolOutcomes = { cluster: { ok: true, view: view(leaderless), probes: quiet() } };
    const noLeader = diagnose(config, none, settingsDefaults);
    // The sample's pg2 still flags pending_restart; without a leader the fit after it is unknown.
    assert.deepEqual(
      noLeader.map((d) => d.code),
      ['no-leader', 'pending-restart'],
    );
    assert.match(noLeader[1]!.message, /whether the pool fits after the restart is not known/);
    assert.equal(poolVerifications(config, none)[0]!.verified, false);
  });

  it('a leader or promotable replica that cannot be probed leaves the pool not verified', async () => {
    const config = await load(CONFIG_TEXT(20));
    const failure = {
      ok: false as const,
      failure: { class: 'authentication' as const, message: 'password authentication failed', code: '28P01' },
    };
    const outcomes: PoolOutcomes = {
      cluster: {
        ok: true,
        view: view(),
        probes: { ...quiet(), pg2: failure as never },
      },
    };
    const verification = poolVerifications(config, outcomes)[0]!;
    assert.equal(verification.verified, false);
    assert.equal(verification.reason, 'auth-failed');
    assert.match(verification.message!, /replica that may be promoted pg2/);
    assert.equal(judgeCluster(config, outcomes, settingsDefaults)!.failover.verdict, 'unverified');

    // The leader unreadable: no failover finding claims the pool fits on it.
    const big = await load(CONFIG_TEXT(70));
    const leaderDown: PoolOutcomes = {
      cluster: {
        ok: true,
        view: view(),
        probes: { ...quiet(), pg0: ok({ usedByOthers: 51 }), pg1: failure as never },
      },
    };
    assert.deepEqual(
      diagnose(big, leaderDown, settingsDefaults).map((d) => d.code),
      ['auth-failed', 'pending-restart'],
    );
    assert.ok(!JSON.stringify(diagnose(config, outcomes, settingsDefaults)).includes('pw-unit-9'));
  });
});
