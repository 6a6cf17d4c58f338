/**
 * Patroni high-availability clusters (issue 10, phase 1) against a real 3-member Patroni + etcd
 * cluster, one for the whole file: the CLI `check` and `report`, and the language server over stdio.
 *
 * Member pg2 runs with superuser_reserved_connections 40 (a member-local parameter Patroni
 * honours), so it has fewer slots for the pool than the others: a replica whose budget differs.
 * A replica cannot run with a smaller max_connections than the primary (PostgreSQL refuses to start
 * it as a hot standby), so "a smaller replica" in practice means reserved slots or other clients.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { pathToFileURL } from 'node:url';
import type { Hover } from 'vscode-languageserver-protocol';
import { TextDocument } from 'vscode-languageserver-textdocument';
import { freePort } from '../../harness/freePort';
import { LspSession } from '../../harness/lspSession';
import { type PatroniCluster, startPatroniCluster } from '../../harness/patroniCluster';
import { findLeader, patroniPoolOf } from '../../server/src/io/cluster/patroniCheck';
import { loadConfigFile } from '../../server/src/io/config/configFiles';

const CLI = join(__dirname, '..', '..', 'dist', 'cli.js');
const PASSWORD = 'patroni-Secret-31xq';
const ENV = { PATRONI_PASSWORD: PASSWORD };

function cli(cwd: string, args: string[]) {
  const result = spawnSync(process.execPath, [CLI, ...args], {
    cwd,
    env: { PATH: process.env.PATH, HOME: process.env.HOME, PGPASSFILE: '/nonexistent', ...ENV },
    encoding: 'utf8',
    timeout: 60_000,
  });
  assert.ok(!`${result.stdout}${result.stderr}`.includes(PASSWORD), 'the password leaked');
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}

/** A port nothing listens on (bound, then closed): connection refused. */
const closedPort = freePort;

describe('Patroni cluster: leader budget, failover capacity, pending restart (real Patroni 3 + etcd)', () => {
  let cluster: PatroniCluster;
  let dir: string;
  const configPath = () => join(dir, '.claude-flow', 'config.yaml');

  const config = (
    maxConnections: number,
    opts: { apiHosts?: string[]; mode?: string; enabled?: boolean; singleNodePort?: number } = {},
  ) => `swarm:
  maxAgents: 10
memory:
  postgresql:
    mode: ${opts.mode ?? 'patroni-ha'}
    singleNode:
      project:
        host: 127.0.0.1
        port: ${opts.singleNodePort ?? 1}
        database: nothing_here
        user: nobody
        poolSize: 10
    patroni:
      enabled: ${opts.enabled ?? false}
      apiHosts: [${(opts.apiHosts ?? cluster.apiHosts).map((h) => `"${h}"`).join(', ')}]
      apiPort: 8008
      database: distributed_postgres_cluster
      user: dpg_cluster
      password: \${PATRONI_PASSWORD}
      minConnections: 2
      maxConnections: ${maxConnections}
      apiTimeout: 2
      failoverTimeout: 30
`;

  const write = (text: string) => writeFile(configPath(), text);
  const checkJson = () => {
    const run = cli(dir, ['check', '--json']);
    return { ...run, json: JSON.parse(run.stdout) };
  };

  before(async () => {
    cluster = await startPatroniCluster({
      memberParameters: { 2: { superuser_reserved_connections: 40 } },
    });
    // pg2 is the member with less room: the tests want it a replica.
    if ((await cluster.leader()).name === 'pg2') {
      await cluster.switchover('pg0');
      await cluster.waitReady();
    }
    const leader = (await cluster.leader()).name;
    await cluster.sql(leader, `CREATE ROLE dpg_cluster LOGIN PASSWORD '${PASSWORD}'`);
    await cluster.sql(leader, 'CREATE DATABASE distributed_postgres_cluster OWNER dpg_cluster');
    dir = await mkdtemp(join(tmpdir(), 'pool-capacity-patroni-'));
    await mkdir(join(dir, '.claude-flow'));
  });

  after(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
    await cluster?.stop();
  });

  it('judges the pool against the leader: fits, every member listed, failover verdict ok', async () => {
    await write(config(20));
    const { code, json, stderr } = checkJson();
    assert.equal(code, 0, stderr);
    assert.deepEqual(json.diagnostics, []);
    // The inactive singleNode pool (a closed port) is not probed and not listed as unverified.
    assert.deepEqual(
      json.pools.map((p: { name: string; verified: boolean }) => [p.name, p.verified]),
      [['patroni', true]],
    );
    const leader = (await cluster.leader()).name;
    assert.equal(json.cluster.leader, leader);
    assert.equal(json.cluster.configuredMaxConnections, 100);
    assert.deepEqual(json.cluster.members.map((m: { name: string }) => m.name).sort(), ['pg0', 'pg1', 'pg2']);
    for (const m of json.cluster.members) {
      assert.equal(m.maxConnections, 100);
      // Patroni's own superuser connection counts as another client on every member.
      assert.ok(m.usedByOthers >= 1, JSON.stringify(m));
    }
    const pg2 = json.cluster.members.find((m: { name: string }) => m.name === 'pg2');
    // 100 − 40 reserved − others (Patroni's own) = at most 59 free.
    assert.ok(pg2.free <= 59 && pg2.free >= 50, JSON.stringify(pg2));
    assert.equal(json.cluster.failover.verdict, 'ok');
    assert.equal(json.cluster.failover.worst, 'pg2');
  });

  it('pool-exceeds-server names the leader when the pool does not fit on it (exit 1)', async () => {
    await write(config(120));
    const { code, stdout } = cli(dir, ['check']);
    assert.equal(code, 1, stdout);
    const leader = await cluster.leader();
    const line = stdout.split('\n').find((l) => l.includes('pool-exceeds-server'));
    assert.ok(line, stdout);
    assert.match(
      line,
      new RegExp(
        `error pool-exceeds-server patroni 120 > \\d+ free on leader ${leader.name} \\(127\\.0\\.0\\.1:${leader.pgPort}\\)`,
      ),
    );
    assert.match(line, /max_connections 100 − 3 reserved − \d+ used by others/);
  });

  it('failover-capacity: fits on the leader, not on a replica with more reserved slots (exit 1), naming it and the shortfall', async () => {
    await write(config(70));
    const { code, json } = checkJson();
    assert.equal(code, 1, JSON.stringify(json.diagnostics));
    const codes = json.diagnostics.map((d: { code: string }) => d.code);
    assert.deepEqual(codes, ['failover-capacity'], JSON.stringify(json.diagnostics));
    const pg2 = cluster.member('pg2');
    const message: string = json.diagnostics[0].message;
    assert.match(
      message,
      new RegExp(
        `^patroni 70 > (\\d+) free on pg2 \\(127\\.0\\.0\\.1:${pg2.pgPort}\\), a replica Patroni may promote`,
      ),
    );
    const free = Number(/> (\d+) free/.exec(message)![1]);
    assert.match(message, new RegExp(`${70 - free} of the pool's connections would be refused`));
    assert.equal(json.cluster.failover.verdict, 'fails');
    assert.equal(json.cluster.failover.worst, 'pg2');
    assert.equal(json.cluster.failover.shortBy, 70 - free);
  });

  it('failover-capacity: other clients on a replica; nofailover exempts the member', async () => {
    const replica = (await cluster.clusterState()).members.find(
      (m) => m.role !== 'leader' && m.name !== 'pg2',
    )!;
    const held = await cluster.occupy(replica.name, 60);
    try {
      await write(config(45));
      const busy = checkJson();
      assert.equal(busy.code, 1, busy.stdout);
      const onReplica = busy.json.diagnostics.filter(
        (d: { code: string; message: string }) =>
          d.code === 'failover-capacity' && d.message.includes(`free on ${replica.name} (`),
      );
      assert.equal(onReplica.length, 1, JSON.stringify(busy.json.diagnostics));
      assert.match(onReplica[0].message, /− 6\d used by others/);

      // Tagged nofailover, Patroni never promotes it: no finding about it.
      await cluster.setTags(replica.name, { nofailover: true });
      const exempt = checkJson();
      assert.ok(
        !exempt.json.diagnostics.some((d: { message: string }) =>
          d.message.includes(`free on ${replica.name} (`),
        ),
        JSON.stringify(exempt.json.diagnostics),
      );
      const member = exempt.json.cluster.members.find((m: { name: string }) => m.name === replica.name);
      assert.equal(member.nofailover, true);
      assert.equal(member.promotable, false);
    } finally {
      await held.release();
      await cluster.setTags(replica.name, { nofailover: false });
    }
  });

  it('patroni-api-unreachable: each address tried and why, not verified (exit 3); the next address that answers is used', async () => {
    const closed = await closedPort();
    await write(config(20, { apiHosts: [`127.0.0.1:${closed}`, 'nonexistent.invalid'] }));
    const down = checkJson();
    assert.equal(down.code, 3, down.stdout);
    assert.equal(down.json.diagnostics.length, 1, JSON.stringify(down.json.diagnostics));
    const finding = down.json.diagnostics[0];
    assert.equal(finding.code, 'patroni-api-unreachable');
    assert.equal(finding.severity, 'warning');
    assert.match(finding.message, new RegExp(`127\\.0\\.0\\.1:${closed} \\(connection refused\\)`));
    assert.match(finding.message, /nonexistent\.invalid:8008 \(host name not found\)/);
    assert.deepEqual(
      down.json.pools.map((p: { verified: boolean; reason: string }) => [p.verified, p.reason]),
      [[false, 'patroni-api-unreachable']],
    );
    // report cannot run without the cluster: exit 2, saying why.
    const report = cli(dir, ['report']);
    assert.equal(report.code, 2, report.stdout);
    assert.match(report.stderr, new RegExp(`127\\.0\\.0\\.1:${closed} \\(connection refused\\)`));

    await write(config(20, { apiHosts: [`127.0.0.1:${closed}`, cluster.apiHosts[1]!] }));
    const next = checkJson();
    assert.equal(next.code, 0, next.stdout);
    assert.equal(next.json.cluster.api, cluster.apiHosts[1]);
  });

  it('the mode decides: single-node without enabled leaves the cluster unread and probes singleNode', async () => {
    await write(config(500, { mode: 'single-node', enabled: false }));
    const { json } = checkJson();
    assert.equal(json.cluster, undefined);
    assert.deepEqual(
      json.pools.map((p: { name: string }) => p.name),
      ['project'],
    );
    // enabled: true reads the cluster even in single-node mode.
    await write(config(500, { mode: 'single-node', enabled: true }));
    const enabled = checkJson();
    assert.ok(enabled.json.diagnostics.some((d: { code: string }) => d.code === 'pool-exceeds-server'));
  });

  it('report lists the members and the capacity after the worst single failover (exit 0, then 1)', async () => {
    await write(config(20));
    const ok = cli(dir, ['report']);
    assert.equal(ok.code, 0, ok.stderr);
    const memberLines = ok.stdout.split('\n').filter((l) => l.startsWith('Member'));
    assert.equal(memberLines.length, 3, ok.stdout);
    assert.match(
      ok.stdout,
      /^Patroni +cluster read from 127\.0\.0\.1:\d+; dynamic config max_connections 100; pool patroni 20$/m,
    );
    assert.match(
      ok.stdout,
      /^Failover +After the worst single failover \(to pg2 \(127\.0\.0\.1:\d+\)\): patroni 20 of \d+ free — fits\.$/m,
    );
    assert.match(ok.stdout, /^Planning +guaranteed capacity: 20 concurrent agents \(patroni pool/m);
    const json = JSON.parse(cli(dir, ['report', '--json']).stdout);
    assert.equal(json.cluster.status, 'OK');
    assert.equal(json.cluster.detail.failover.verdict, 'ok');

    await write(config(70));
    const failing = cli(dir, ['report']);
    assert.equal(failing.code, 1, failing.stdout);
    assert.match(
      failing.stdout,
      /^Failover +After the worst single failover \(to pg2 .*\): patroni 70 > \d+ free — \d+ connections short\.$/m,
    );
  });

  it('report --html draws one bar per member from the same budgets, the worst failover marked', async () => {
    await write(config(20));
    const file = join(dir, 'report.html');
    const out = cli(dir, ['report', '--html', file]);
    assert.equal(out.code, 0, out.stderr);
    const html = await readFile(file, 'utf8');
    assert.ok(!html.includes(PASSWORD));
    const data = /<script type="application\/json" id="dashboard-data">([\s\S]*?)<\/script>/.exec(html)![1]!;
    type Bar = {
      kind: string;
      title: string;
      limit: number;
      status: string;
      verdict: string[];
      segments: { kind: string; label: string; slots: number }[];
      member: { name: string; role: string; promotable: boolean; worstFailover: boolean };
    };
    const bars = (JSON.parse(data) as { capacity: { bars: Bar[] } }).capacity.bars;
    const members = bars.filter((b) => b.kind === 'member');
    assert.deepEqual(members.map((b) => b.member.name).sort(), ['pg0', 'pg1', 'pg2']);
    const leader = (await cluster.leader()).name;
    for (const bar of members) {
      const slots = Object.fromEntries(
        bar.segments.map((s) => [s.kind === 'pool' ? s.label : s.kind, s.slots]),
      );
      assert.equal(bar.limit, 100);
      assert.equal(bar.status, 'OK', JSON.stringify(bar));
      assert.equal(slots['patroni pool'], 20);
      // pg2 keeps 40 for superusers (its member-local parameter); the others the default 3.
      assert.equal(slots.reserved, bar.member.name === 'pg2' ? 40 : 3);
      assert.equal(
        bar.segments.reduce((n, s) => n + s.slots, 0),
        100,
      );
      assert.equal(bar.member.role === 'leader', bar.member.name === leader);
    }
    const worst = members.find((b) => b.member.worstFailover)!;
    assert.equal(worst.member.name, 'pg2');
    assert.match(worst.title, /^Patroni replica pg2 \(127\.0\.0\.1:\d+\) \(if promoted\) — PostgreSQL /);
    assert.match(
      worst.verdict.at(-1)!,
      /^After the worst single failover \(to pg2 \(127\.0\.0\.1:\d+\)\): patroni 20 of \d+ free — fits\.$/,
    );
  });

  it('language server over stdio: failover-capacity on maxConnections, hover with the member table', async () => {
    const text = config(70);
    await write(text);
    const uri = pathToFileURL(configPath()).toString();
    const lsp = new LspSession({ workspace: dir, env: ENV });
    try {
      await lsp.initialize();
      const found = await lsp.waitForDiagnostics(
        uri,
        (d) => d.some((x) => x.code === 'failover-capacity'),
        30_000,
      );
      const doc = TextDocument.create(uri, 'yaml', 1, text);
      const at = text.indexOf('maxConnections: 70') + 'maxConnections: '.length;
      const finding = found.find((x) => x.code === 'failover-capacity')!;
      assert.deepEqual(finding.range, { start: doc.positionAt(at), end: doc.positionAt(at + 2) });
      assert.equal(finding.severity, 1);
      await lsp.open(uri, text);
      const hover = (await lsp.connection.sendRequest('textDocument/hover', {
        textDocument: { uri },
        position: doc.positionAt(at + 1),
      })) as Hover;
      const markdown = (hover.contents as { value: string }).value;
      assert.match(markdown, /\| member \| role \| state \| lag \| max_connections \| free for this role \|/);
      for (const name of ['pg0', 'pg1', 'pg2'])
        assert.match(markdown, new RegExp(`^\\| ${name} \\| (leader|replica)`, 'm'));
      assert.match(markdown, /After the worst single failover \(to pg2/);
      // The inactive singleNode pool's hover says why it is not probed.
      const projectAt = text.indexOf('poolSize: 10') + 'poolSize: '.length;
      const inactive = (await lsp.connection.sendRequest('textDocument/hover', {
        textDocument: { uri },
        position: doc.positionAt(projectAt),
      })) as Hover;
      assert.match((inactive.contents as { value: string }).value, /inactive: the mode is patroni-ha/);
      assert.ok(!JSON.stringify(found).includes(PASSWORD) && !markdown.includes(PASSWORD));
    } finally {
      await lsp.close();
    }
  });

  it('follows a switchover: the leader budget names the new leader; findLeader (the phase-2 seam) agrees', async () => {
    const before = await cluster.leader();
    const candidate = before.name === 'pg0' ? 'pg1' : 'pg0';
    await cluster.switchover(candidate);
    await cluster.waitReady();
    await write(config(120));
    const { json } = checkJson();
    assert.equal(json.cluster.leader, candidate);
    const finding = json.diagnostics.find((d: { code: string }) => d.code === 'pool-exceeds-server');
    assert.match(finding?.message ?? '', new RegExp(`free on leader ${candidate} \\(`));
    const loaded = await loadConfigFile(configPath(), ENV);
    const found = await findLeader(patroniPoolOf(loaded)!);
    assert.ok(found.ok, found.ok ? '' : found.message);
    assert.equal(found.leader.name, candidate);
    assert.equal(found.target.port, cluster.member(candidate).pgPort);
    assert.equal(found.target.user, 'dpg_cluster');
  });

  it('a lost leader: not verified while the DCS still lists it, then the promoted replica leads', async () => {
    await write(config(20));
    const lost = await cluster.leader();
    await cluster.killMember(lost.name);
    // Until its leader key expires (ttl 10 s) /cluster still lists the dead member as leader: the
    // probe cannot reach it, so the pool is not verified (exit 3), never judged on stale facts.
    const during = checkJson();
    assert.equal(
      during.json.cluster?.leader,
      lost.name,
      'the DCS lists the dead leader for about ttl seconds',
    );
    assert.equal(during.code, 3, JSON.stringify(during.json.diagnostics));
    assert.equal(during.json.pools[0].verified, false);
    assert.match(during.json.pools[0].message, new RegExp(`leader ${lost.name}: .*connection refused`));
    // Nothing is judged on the replicas as if the leader were fine.
    assert.deepEqual(
      during.json.diagnostics.map((d: { code: string }) => d.code),
      ['server-unreachable'],
    );
    // Patroni promotes a replica about ttl seconds later: wait for that event, bounded.
    let next = lost.name;
    const deadline = Date.now() + 60_000;
    while (next === lost.name && Date.now() < deadline) {
      next = (await cluster.leader(5_000).catch(() => lost)).name;
      if (next === lost.name) await new Promise((r) => setTimeout(r, 250));
    }
    assert.notEqual(next, lost.name, 'no replica was promoted within 60 s');
    await cluster.startMember(lost.name);
    await cluster.waitReady(90_000);
    await write(config(20));
    const afterwards = checkJson();
    assert.equal(afterwards.code, 0, JSON.stringify(afterwards.json.diagnostics));
    assert.equal(afterwards.json.cluster.leader, next);
  });

  // Last: it changes the cluster's dynamic config.
  it('pending-restart after PATCH /config: both values, and whether the pool fits after the restart', async () => {
    await cluster.patchConfig({ postgresql: { parameters: { max_connections: 150 } } });
    await write(config(20));
    const deadline = Date.now() + 20_000;
    let run = checkJson();
    // Patroni flags pending_restart on its next loop (loop_wait 1 s): wait for that event, bounded.
    while (
      !run.json.diagnostics.some((d: { code: string }) => d.code === 'pending-restart') &&
      Date.now() < deadline
    ) {
      await new Promise((r) => setTimeout(r, 500));
      run = checkJson();
    }
    const pending = run.json.diagnostics.find((d: { code: string }) => d.code === 'pending-restart');
    assert.ok(pending, JSON.stringify(run.json.diagnostics));
    assert.equal(pending.severity, 'warning');
    assert.match(
      pending.message,
      /dynamic config sets max_connections 150, but pg\d runs 100, pg\d runs 100, pg\d runs 100/,
    );
    assert.match(
      pending.message,
      /after the restart the pool fits on the leader: patroni 20 of \d+ free \(max_connections 150\)/,
    );
    assert.equal(run.json.cluster.configuredMaxConnections, 150);
    assert.equal(run.json.cluster.pendingRestart.fitsAfterRestart, true);
    assert.equal(run.code, 0);

    // One replica restarted: it runs the new value, the others still the old one.
    const replica = (await cluster.clusterState()).members.find((m) => m.role !== 'leader')!;
    await cluster.restartMember(replica.name);
    const after = checkJson();
    const message = after.json.diagnostics.find(
      (d: { code: string }) => d.code === 'pending-restart',
    )?.message;
    assert.match(
      message ?? '',
      new RegExp(`${replica.name} runs 150`),
      JSON.stringify(after.json.diagnostics),
    );
    assert.match(message, /pg\d runs 100/);
    const restarted = after.json.cluster.members.find((m: { name: string }) => m.name === replica.name);
    assert.equal(restarted.maxConnections, 150);
  });
});
