import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:net';
import { after, afterEach, before, describe, it } from 'node:test';
import type { CodeAction, Diagnostic, Hover } from 'vscode-languageserver-protocol';
import { TextDocument } from 'vscode-languageserver-textdocument';
import { poolConfigYaml } from '../../harness/configFixture';
import { freePort } from '../../harness/freePort';
import { LspSession } from '../../harness/lspSession';
import { LspWorkspaces, startAppCluster } from '../../harness/lspWorkspaces';
import type { Cluster } from '../../harness/pgCluster';
import { StatusNotification, type StatusParams } from '../../shared/protocol';

const PASSWORD = 'app-Secret-9f2c';

const codes = (diagnostics: Diagnostic[]) => diagnostics.map((d) => d.code).sort();

describe('language server over stdio against a real PostgreSQL', () => {
  let cluster: Cluster;
  const lsps = new LspWorkspaces();
  const session = (options: ConstructorParameters<typeof LspSession>[0]) => lsps.session(options);
  const ws = (config: string, dotenv?: string) => lsps.workspace('pool-capacity-lsp-', config, dotenv);

  before(async () => {
    cluster = await startAppCluster(30, PASSWORD);
  });

  // Each test's server ends with it, so no earlier server's probe or status connection is
  // still on the cluster when a later test counts connections.
  afterEach(() => lsps.closeSessions());

  after(async () => {
    await lsps.removeAll();
    await cluster?.stop();
  });

  const layoutA = (project: number, shared: number, extra = '') =>
    poolConfigYaml({
      maxAgents: 10,
      project: {
        port: cluster.port,
        database: 'appdb',
        password: '${APP_PASSWORD}',
        poolSize: project,
        poolSizeComment: "agents' pool",
      },
      shared: { port: cluster.port, database: 'shareddb', password: '${APP_PASSWORD}', poolSize: shared },
      tail: extra,
    });

  it('validates a workspace config on startup, unopened, with the .env password; hover, quick fix, clear', async () => {
    const w = await ws(layoutA(40, 5), `APP_PASSWORD=${PASSWORD}\n`);
    const lsp = session({ workspace: w.dir });
    await lsp.initialize();
    // 30 - 3 reserved = 27 usable for a plain role; 45 asked. Shrinking shared alone cannot make room
    // (project's 40 takes more than the headroom leaves), so the error sits on project, shared is related.
    const found = await lsp.waitForDiagnostics(w.uri, (d) => d.some((x) => x.code === 'pool-exceeds-server'));
    assert.deepEqual(codes(found), ['pool-exceeds-server']);
    const text = layoutA(40, 5);
    const doc = TextDocument.create(w.uri, 'yaml', 1, text);
    const project = found[0]!;
    assert.equal(project.source, 'pool-capacity');
    assert.equal(project.severity, 1);
    const at = text.indexOf('poolSize: 40') + 'poolSize: '.length;
    assert.deepEqual(project.range, { start: doc.positionAt(at), end: doc.positionAt(at + 2) });
    // The figures come first, where the Problems panel shows them.
    assert.match(
      project.message.slice(0, 80),
      new RegExp(`^project 40 \\+ shared 5 = 45 > 2\\d free on 127\\.0\\.0\\.1:${cluster.port}`),
    );
    assert.match(
      project.message,
      /: max_connections 30 − 3 reserved − \d+ used by others = 2\d free for this role/,
    );
    const sharedAt = text.indexOf('poolSize: 5') + 'poolSize: '.length;
    assert.deepEqual(project.relatedInformation, [
      {
        location: {
          uri: w.uri,
          range: { start: doc.positionAt(sharedAt), end: doc.positionAt(sharedAt + 1) },
        },
        message: 'shared 5 counts in the same sum; reducing it alone cannot clear it',
      },
    ]);
    assert.ok(!JSON.stringify(found).includes(PASSWORD));

    await lsp.open(w.uri, text);
    const hover = (await lsp.connection.sendRequest('textDocument/hover', {
      textDocument: { uri: w.uri },
      position: doc.positionAt(at + 1),
    })) as Hover;
    const markdown = (hover.contents as { value: string }).value;
    assert.ok(markdown.split('\n').length < 15, markdown);
    assert.match(
      markdown,
      /Server: max_connections 30 − 3 reserved − \d+ used by others = 2\d free for this role/,
    );
    assert.match(
      markdown,
      /Pools here: project 40 \+ shared 5 = 45 — does not fit; 3 must stay free as headroom/,
    );
    assert.match(markdown, /PostgreSQL 1\d/);
    assert.ok(!markdown.includes(PASSWORD));

    const actions = (await lsp.connection.sendRequest('textDocument/codeAction', {
      textDocument: { uri: w.uri },
      range: project.range,
      context: { diagnostics: [project] },
    })) as CodeAction[];
    assert.deepEqual(
      actions.map((a) => a.title.replace(/\d+/g, 'N')),
      ['Set poolSize to N', 'Resize all pools on this server (project N, shared N)'],
    );
    const edit = actions[0]!.edit!.changes![w.uri]!;
    assert.equal(edit.length, 1);
    assert.deepEqual(edit[0]!.range, project.range, 'the edit touches the value only');
    const fixed = TextDocument.applyEdits(doc, edit);
    assert.ok(fixed.includes(`poolSize: ${edit[0]!.newText} # agents' pool`), 'comment kept');
    assert.equal(actions[1]!.edit!.changes![w.uri]!.length, 2, 'one edit resizes both pools');

    // The project fix alone, shared as it is, leaves both pools within the budget with headroom.
    await lsp.change(w.uri, fixed, 3);
    const cleared = await lsp.waitForDiagnostics(w.uri, (d) => !d.some((x) => x.severity === 1));
    assert.deepEqual(cleared, []);
  });

  it('server-unreachable for a closed port, auth-failed for a wrong password, neither delaying the other', async () => {
    const closed = await freePort();
    const config = layoutA(5, 40).replace(
      `port: ${cluster.port}\n      database: appdb`,
      `port: ${closed}\n      database: appdb`,
    );
    const w = await ws(config, 'APP_PASSWORD=wrong-password-123\n');
    const lsp = session({ workspace: w.dir, env: {} });
    await lsp.initialize();
    const unverified = ['server-unreachable', 'auth-failed'];
    const found = await lsp.waitForDiagnostics(
      w.uri,
      (d) => d.filter((x) => unverified.includes(String(x.code))).length === 2,
    );
    const byPool = Object.fromEntries(
      found.filter((d) => unverified.includes(String(d.code))).map((d) => [d.message.split(':')[0], d]),
    );
    assert.equal(byPool.project!.code, 'server-unreachable');
    assert.equal(byPool.shared!.code, 'auth-failed');
    assert.match(
      byPool.project!.message,
      new RegExp(`cannot connect to app@127\\.0\\.0\\.1:${closed}/appdb: connection refused`),
    );
    assert.match(byPool.shared!.message, /authentication failed/);
    assert.equal(byPool.project!.severity, 2);
    const doc = TextDocument.create(w.uri, 'yaml', 0, config);
    const key = config.indexOf('project:');
    assert.deepEqual(byPool.project!.range, {
      start: doc.positionAt(key),
      end: doc.positionAt(key + 'project'.length),
    });
    assert.ok(!JSON.stringify(found).includes('wrong-password-123'));
  });

  it('a server that never answers shows server-unreachable within the connect timeout plus a second', async () => {
    const silent = await silentServer();
    const port = (silent.address() as { port: number }).port;
    try {
      const config = layoutA(5, 5).replaceAll(`port: ${cluster.port}`, `port: ${port}`);
      const w = await ws(config, `APP_PASSWORD=${PASSWORD}\n`);
      const lsp = session({ workspace: w.dir, settings: { connectTimeoutMs: 500 } });
      const started = Date.now();
      await lsp.initialize();
      const found = await lsp.waitForDiagnostics(
        w.uri,
        (d) => d.some((x) => x.code === 'server-unreachable'),
        1500 + 2000,
      );
      assert.ok(Date.now() - started < 1500 + 1000, `took ${Date.now() - started} ms`);
      assert.match(found[0]!.message, /connect timeout/);
    } finally {
      silent.close();
    }
  });

  it('finds the project server through RUVECTOR_* from the workspace .env', async () => {
    const config = 'memory:\n  postgresql:\n    project:\n      poolSize: 60\n';
    const w = await ws(
      config,
      `RUVECTOR_HOST=127.0.0.1\nRUVECTOR_PORT=${cluster.port}\nRUVECTOR_DB=appdb\nRUVECTOR_USER=app\nRUVECTOR_PASSWORD=${PASSWORD}\n`,
    );
    const lsp = session({ workspace: w.dir });
    await lsp.initialize();
    const found = await lsp.waitForDiagnostics(w.uri, (d) => d.length > 0);
    assert.deepEqual(codes(found), ['pool-exceeds-server']);
    assert.match(
      found[0]!.message,
      new RegExp(`^project 60 > \\d+ free on 127\\.0\\.0\\.1:${cluster.port}: `),
    );
  });

  it('in an untrusted workspace checks values only and opens no connection', async () => {
    // Earlier servers are closed; their backends may take a moment to leave pg_stat_activity.
    assert.equal(await cluster.waitForConnections('pool-capacity/', 0, { prefix: true }), 0);
    const w = await ws(layoutA(0, 5), `APP_PASSWORD=${PASSWORD}\n`);
    const lsp = session({ workspace: w.dir, trusted: false });
    await lsp.initialize();
    const found = await lsp.waitForDiagnostics(w.uri, (d) => d.length > 0);
    assert.deepEqual(codes(found), ['invalid-pool-size']);
    const status = await lsp.waitForNotification<StatusParams>(StatusNotification.method, () => true);
    assert.equal(status.state, 'untrusted');
    assert.equal(await cluster.countConnections('pool-capacity/', { prefix: true }), 0);
  });

  it('broken YAML gets a yaml-syntax error and the server keeps serving', async () => {
    const w = await ws('memory:\n  postgresql:\n    project:\n      poolSize: 4\n     broken: [\n');
    const lsp = session({ workspace: w.dir });
    await lsp.initialize();
    const found = await lsp.waitForDiagnostics(w.uri, (d) => d.some((x) => x.code === 'yaml-syntax'));
    assert.equal(found.find((d) => d.code === 'yaml-syntax')!.severity, 1);
    await lsp.open(w.uri, 'memory: {');
    await lsp.waitForDiagnostics(w.uri, (d) =>
      d.some((x) => x.code === 'yaml-syntax' && x.range.start.line === 0),
    );
  });

  it('reports the live connection count in status notifications, agreeing with pg_stat_activity', async () => {
    const others = await cluster.occupy(4, { applicationName: 'status-check' });
    try {
      const w = await ws(layoutA(5, 5), `APP_PASSWORD=${PASSWORD}\n`);
      const lsp = session({ workspace: w.dir, settings: { statusPollIntervalMs: 200 } });
      await lsp.initialize();
      type Status = {
        state: string;
        servers: { state: string; connections: number; maxConnections: number }[];
      };
      const status = await lsp.waitForNotification<Status>(
        StatusNotification.method,
        (s) => s.servers.length === 1 && s.servers[0]!.state === 'ok',
      );
      const rows = await cluster.sql<{ n: number }>(
        `SELECT count(*)::int AS n FROM pg_stat_activity WHERE backend_type = 'client backend'
           AND application_name NOT IN ('pool-capacity/status', 'pool-capacity/probe')`,
      );
      assert.equal(status.servers[0]!.connections, rows[0]!.n);
      assert.equal(status.servers[0]!.maxConnections, 30);
      assert.ok(status.servers[0]!.connections >= 4);
    } finally {
      await others.release();
    }
  });

  it('exits when the client shuts it down', async () => {
    const w = await ws(layoutA(5, 5));
    const lsp = new LspSession({ workspace: w.dir });
    await lsp.initialize();
    assert.equal(await lsp.close(), 0);
  });
});

/** Accepts TCP connections and never says a word: a server that hangs. */
function silentServer(): Promise<Server> {
  return new Promise((resolve) => {
    const sockets: import('node:net').Socket[] = [];
    const server = createServer((socket) => sockets.push(socket));
    server.on('close', () => {
      for (const s of sockets) s.destroy();
    });
    server.listen(0, '127.0.0.1', () => resolve(server));
  });
}
