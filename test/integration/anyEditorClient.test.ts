// The language server driven by a plain LSP client, as Neovim, Helix, Zed or Emacs drive it: no
// workspace/configuration, no dynamic registration, no file watching — against a real PostgreSQL.
import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import { createServer, type Server, type Socket } from 'node:net';
import { join } from 'node:path';
import { after, afterEach, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import type { CodeAction, Diagnostic, InitializeResult } from 'vscode-languageserver-protocol';
import { poolConfigYaml } from '../../harness/configFixture';
import type { LspSession, LspSessionOptions } from '../../harness/lspSession';
import { LspWorkspaces, startAppCluster } from '../../harness/lspWorkspaces';
import type { Cluster } from '../../harness/pgCluster';
import { ListConfigsRequest, type ServerCommandResult, ServerCommands } from '../../shared/protocol';

const PASSWORD = 'any-Secret-51c3';

describe('any LSP client: pushed settings, own file watching, executeCommand, trust (real PostgreSQL)', () => {
  let cluster: Cluster;
  /** Servers, folders and the report files the commands wrote, removed at the end. */
  const lsps = new LspWorkspaces();
  const dirs = lsps.dirs;

  before(async () => {
    // 20 slots, 3 reserved for superusers: 17 usable by the pools' role.
    cluster = await startAppCluster(20, PASSWORD);
  });

  afterEach(() => lsps.closeSessions());

  after(async () => {
    await lsps.removeAll();
    await cluster?.stop();
  });

  const config = (project: number, shared: number, port = cluster.port, maxAgents = 4) =>
    poolConfigYaml({
      maxAgents,
      project: { port, database: 'appdb', password: '${APP_PASSWORD}', poolSize: project },
      shared: { port, database: 'shareddb', password: '${APP_PASSWORD}', poolSize: shared },
    });

  async function workspace(text: string, dotenv = `APP_PASSWORD=${PASSWORD}\n`) {
    const { dir, configPath, uri } = await lsps.workspace('pool-capacity-any-', text, dotenv);
    return { dir, path: configPath, uri, text };
  }

  /** A plain client's session (trusted unless the options say otherwise); returns the initialize result. */
  async function plainSession(dir: string, options: Partial<LspSessionOptions> = {}) {
    const lsp = lsps.session({
      workspace: dir,
      plain: true,
      initializationOptions: { trusted: true },
      ...options,
    });
    const result = (await lsp.initialize()) as InitializeResult;
    return { lsp, result };
  }

  /** The diagnostics once every validation scheduled so far has settled (listConfigs waits for them). */
  async function settled(lsp: LspSession, uri: string): Promise<Diagnostic[]> {
    await lsp.connection.sendRequest(ListConfigsRequest.method, {});
    return lsp.diagnostics(uri) ?? [];
  }

  const codes = (ds: Diagnostic[]) => ds.map((d) => d.code).sort();
  const publishesOf = (lsp: LspSession, uri: string) => lsp.publishes.filter((p) => p.uri === uri);
  const shown = (lsp: LspSession) =>
    lsp.notifications
      .filter((n) => n.method === 'window/showMessage')
      .map((n) => (n.params as { message: string }).message);

  it('without an explicit trusted: true it connects to nothing and says once how to opt in', async () => {
    // A listener of ours in place of the server: any connection attempt would be accepted here.
    const accepted: Socket[] = [];
    const listener: Server = createServer((socket) => accepted.push(socket));
    await new Promise<void>((resolve) => listener.listen(0, '127.0.0.1', resolve));
    const port = (listener.address() as { port: number }).port;
    try {
      const w = await workspace(config(40, 3, port));
      // No initializationOptions at all, as an editor that was not told about this server's options.
      const { lsp } = await plainSession(w.dir, { initializationOptions: null });
      await lsp.open(w.uri, w.text);
      const diagnostics = await settled(lsp, w.uri);
      assert.ok(
        !diagnostics.some((d) => d.code === 'server-unreachable' || d.code === 'pool-exceeds-server'),
        JSON.stringify(diagnostics),
      );
      const result = (await lsp.connection.sendRequest('workspace/executeCommand', {
        command: ServerCommands.runCapacityTest,
        arguments: [{ configUri: w.uri, agents: 2, durationMs: 10 }],
      })) as ServerCommandResult;
      assert.equal(result.outcome, 'error');
      assert.match(result.message, /"trusted": true/);
      const optIn = shown(lsp).filter((m) => /initializationOptions \{ "trusted": true \}/.test(m));
      // Once at start, once as the command's answer.
      assert.equal(optIn.length, 2, JSON.stringify(shown(lsp)));
      assert.equal(accepted.length, 0, 'the server connected without trust');

      // The same workspace with trust does connect: the listener above is the proof that counts.
      const trusted = await plainSession(w.dir, { initializationOptions: { trusted: true } });
      await trusted.lsp.open(w.uri, w.text);
      await trusted.lsp.waitForDiagnostics(
        w.uri,
        (ds) => ds.some((d) => d.code === 'server-unreachable'),
        20_000,
      );
      assert.ok(accepted.length > 0);
      assert.ok(!shown(trusted.lsp).some((m) => /"trusted": true/.test(m)));
    } finally {
      for (const s of accepted) s.destroy();
      await new Promise((resolve) => listener.close(resolve));
    }
  });

  it('takes its settings from initializationOptions and didChangeConfiguration pushes, and registers nothing', async () => {
    const w = await workspace(config(6, 2, cluster.port, 4));
    const { lsp } = await plainSession(w.dir, {
      initializationOptions: { trusted: true, settings: { targetAgents: 8 } },
    });
    await lsp.open(w.uri, w.text);
    // The target of 8 agents (from initializationOptions) is above the project pool of 6.
    await lsp.waitForDiagnostics(w.uri, (ds) => ds.some((d) => d.code === 'pool-below-target'));
    await lsp.connection.sendNotification('workspace/didChangeConfiguration', {
      settings: { poolCapacity: { targetAgents: 5 } },
    });
    await lsp.waitForDiagnostics(w.uri, (ds) => !ds.some((d) => d.code === 'pool-below-target'));
    await lsp.connection.sendNotification('workspace/didChangeConfiguration', {
      settings: { poolCapacity: { targetAgents: 7 } },
    });
    const diagnostics = await lsp.waitForDiagnostics(w.uri, (ds) =>
      ds.some((d) => d.code === 'pool-below-target'),
    );
    assert.match(diagnostics.find((d) => d.code === 'pool-below-target')!.message, /\b7\b/);
    // No dynamic registration for a client that does not allow it; no workspace/configuration asked.
    assert.deepEqual(
      lsp.serverRequests.map((r) => r.method).filter((m) => m !== 'window/workDoneProgress/create'),
      [],
    );
  });

  it('sees an external edit of .env by watching the file itself', async () => {
    const w = await workspace(config(6, 2), 'APP_PASSWORD=wrong-password\n');
    const { lsp } = await plainSession(w.dir);
    await lsp.open(w.uri, w.text);
    await lsp.waitForDiagnostics(w.uri, (ds) => ds.some((d) => d.code === 'auth-failed'), 20_000);
    // Written by another program: the editor sends nothing.
    await writeFile(join(w.dir, '.env'), `APP_PASSWORD=${PASSWORD}\n`);
    const fixed = await lsp.waitForDiagnostics(
      w.uri,
      (ds) => !ds.some((d) => d.code === 'auth-failed'),
      10_000,
    );
    assert.deepEqual(codes(fixed), []);
    assert.ok(!lsp.serverRequests.some((r) => r.method === 'client/registerCapability'));
  });

  it('says so when no password is found anywhere, not a SASL type error', async () => {
    const w = await workspace(config(6, 2).replaceAll('      password: ${APP_PASSWORD}\n', ''), '');
    const { lsp } = await plainSession(w.dir);
    await lsp.open(w.uri, w.text);
    const diagnostics = await lsp.waitForDiagnostics(
      w.uri,
      (ds) => ds.some((d) => d.code === 'auth-failed'),
      20_000,
    );
    const message = diagnostics.find((d) => d.code === 'auth-failed')!.message;
    assert.match(message, /no password was found \(config, `\$\{VAR\}`, `PGPASSWORD`, pgpass\)/);
    assert.doesNotMatch(message, /SASL|must be a string/);
  });

  it('registers its globs with a client that watches files for it', async () => {
    const w = await workspace(config(6, 2));
    // As VS Code: workspace/configuration, and dynamic registration of both.
    const lsp = lsps.session({
      workspace: w.dir,
      settings: {},
      capabilities: {
        workspace: {
          configuration: true,
          didChangeConfiguration: { dynamicRegistration: true },
          didChangeWatchedFiles: { dynamicRegistration: true, relativePatternSupport: true },
        },
      },
    });
    await lsp.initialize();
    const registrations = new Set<string>();
    const globs: unknown[] = [];
    await lsp.waitForServerRequest<{
      registrations: { method: string; registerOptions: { watchers?: { globPattern: unknown }[] } }[];
    }>('client/registerCapability', (p) => {
      for (const r of p.registrations) {
        registrations.add(r.method);
        globs.push(...(r.registerOptions.watchers ?? []).map((x) => x.globPattern));
      }
      return registrations.has('workspace/didChangeWatchedFiles');
    });
    assert.ok(globs.includes('**/.claude-flow/config.{yaml,yml}'));
    assert.ok(globs.includes('**/.env'));
    // PGPASSFILE=/nonexistent in the session: the password file's folder as a relative pattern.
    assert.ok(
      globs.some((g) => typeof g === 'object' && (g as { pattern: string }).pattern === 'nonexistent'),
      JSON.stringify(globs),
    );
    await lsp.waitForServerRequest<{ registrations: { method: string }[] }>(
      'client/registerCapability',
      (p) => p.registrations.some((r) => r.method === 'workspace/didChangeConfiguration'),
    );
  });

  it('publishes once per change of findings: none empty first, none dropped on save', async () => {
    const w = await workspace(config(40, 3));
    const { lsp } = await plainSession(w.dir);
    await lsp.open(w.uri, w.text);
    const first = await settled(lsp, w.uri);
    assert.deepEqual(codes(first), ['pool-exceeds-server']);
    // On open: one publish, with the server's finding (no empty list before it).
    assert.equal(publishesOf(lsp, w.uri).length, 1, JSON.stringify(publishesOf(lsp, w.uri)));
    // Save: the servers are read again; the finding stays until the probe answers, and is the same.
    for (let i = 0; i < 3; i++) {
      await lsp.connection.sendNotification('textDocument/didSave', { textDocument: { uri: w.uri } });
      await settled(lsp, w.uri);
    }
    await lsp.connection.sendRequest('workspace/executeCommand', {
      command: ServerCommands.refreshServerInfo,
    });
    assert.equal(publishesOf(lsp, w.uri).length, 1, JSON.stringify(publishesOf(lsp, w.uri)));
    // An edit that changes the finding's words: exactly one more publish.
    await lsp.change(w.uri, config(41, 3), 2);
    await settled(lsp, w.uri);
    const after = publishesOf(lsp, w.uri);
    assert.equal(after.length, 2, JSON.stringify(after));
    assert.ok(after.every((p) => p.diagnostics.some((d) => d.code === 'pool-exceeds-server')));
    assert.match(after[1]!.diagnostics[0]!.message, /41/);
  });

  it('offers the quick fixes by range, without diagnostic.data', async () => {
    const w = await workspace(config(40, 3));
    const { lsp } = await plainSession(w.dir);
    await lsp.open(w.uri, w.text);
    const [finding] = await lsp.waitForDiagnostics(
      w.uri,
      (ds) => ds.some((d) => d.code === 'pool-exceeds-server'),
      20_000,
    );
    const withData = (await lsp.connection.sendRequest('textDocument/codeAction', {
      textDocument: { uri: w.uri },
      range: finding!.range,
      context: { diagnostics: [finding] },
    })) as CodeAction[];
    assert.ok(withData.length > 0);
    const { data: _dropped, ...bare } = finding!;
    const withoutData = (await lsp.connection.sendRequest('textDocument/codeAction', {
      textDocument: { uri: w.uri },
      range: finding!.range,
      context: { diagnostics: [bare] },
    })) as CodeAction[];
    assert.deepEqual(
      withoutData.map((a) => [a.title, a.edit]),
      withData.map((a) => [a.title, a.edit]),
    );
    // No diagnostics in the context at all (a client that sends the cursor only).
    const atCursor = (await lsp.connection.sendRequest('textDocument/codeAction', {
      textDocument: { uri: w.uri },
      range: { start: finding!.range.start, end: finding!.range.start },
      context: { diagnostics: [] },
    })) as CodeAction[];
    assert.deepEqual(
      atCursor.map((a) => [a.title, a.edit]),
      withData.map((a) => [a.title, a.edit]),
    );
  });

  it('asks for no status connection unless the client asks for status notifications', async () => {
    const w = await workspace(config(6, 2));
    const settings = { statusPollIntervalMs: 100 };
    // Two servers on the same workspace, started together: one not asking, one asking as VS Code does.
    const { lsp: quiet } = await plainSession(w.dir, { initializationOptions: { trusted: true, settings } });
    const { lsp: asking } = await plainSession(w.dir, {
      initializationOptions: { trusted: true, statusNotifications: true, settings },
    });
    await quiet.open(w.uri, w.text);
    await settled(quiet, w.uri);
    // Three polls of the asking server that saw the server: the quiet one would have polled as often.
    const polls = () =>
      asking.notifications.filter(
        (n) => n.method === 'poolCapacity/status' && (n.params as { servers: unknown[] }).servers.length > 0,
      ).length;
    await asking.waitForNotification('poolCapacity/status', () => polls() >= 3, 20_000);
    // One kept-open status connection on the cluster: the asking server's.
    assert.equal(await cluster.waitForConnections('pool-capacity/status', 1), 1);
    assert.equal(await cluster.countConnections('pool-capacity/status'), 1);
    assert.ok(!quiet.notifications.some((n) => n.method === 'poolCapacity/status'));
  });

  it('runs a load test through workspace/executeCommand with $/progress, showMessage and showDocument', async () => {
    const w = await workspace(config(6, 2));
    const { lsp, result } = await plainSession(w.dir);
    assert.deepEqual(
      [...(result.capabilities.executeCommandProvider?.commands ?? [])].sort(),
      Object.values(ServerCommands).sort(),
    );
    const answer = (await lsp.connection.sendRequest('workspace/executeCommand', {
      command: ServerCommands.runCapacityTest,
      arguments: [{ configUri: w.uri, agents: 4, durationMs: 100 }],
    })) as ServerCommandResult;
    assert.equal(answer.outcome, 'done', answer.message);
    assert.equal(answer.verdict, 'PASS', answer.message);
    // Progress on a token the server created, begun (cancellable), reported, ended.
    const created = await lsp.waitForServerRequest<{ token: string }>('window/workDoneProgress/create');
    const kinds = lsp.progress.filter((p) => p.token === created.token).map((p) => p.value.kind);
    assert.equal(kinds[0], 'begin');
    assert.ok(kinds.includes('report'), JSON.stringify(kinds));
    assert.equal(kinds.at(-1), 'end');
    assert.equal(lsp.progress.find((p) => p.value.kind === 'begin')!.value.cancellable, true);
    // The result said to the user, the report opened as a document.
    await lsp.waitForNotification(
      'window/showMessage',
      (m: { message: string }) => m.message === answer.message,
    );
    const shownDocument = await lsp.waitForServerRequest<{ uri: string }>('window/showDocument');
    assert.equal(shownDocument.uri, answer.reportUri);
    dirs.push(fileURLToPath(answer.reportUri!));
    const report = await readFile(fileURLToPath(answer.reportUri!), 'utf8');
    assert.match(report, /PASS/);
    assert.ok(!report.includes(PASSWORD));
    // The capacity report and Refresh Server Info the same way.
    const capacity = (await lsp.connection.sendRequest('workspace/executeCommand', {
      command: ServerCommands.showCapacityReport,
      arguments: [w.uri],
    })) as ServerCommandResult;
    assert.equal(capacity.outcome, 'done', capacity.message);
    dirs.push(fileURLToPath(capacity.reportUri!));
    assert.match(await readFile(fileURLToPath(capacity.reportUri!), 'utf8'), /appdb|project/);
    const refreshed = (await lsp.connection.sendRequest('workspace/executeCommand', {
      command: ServerCommands.refreshServerInfo,
    })) as ServerCommandResult;
    assert.match(refreshed.message, /refreshed \(1 config/);
    // A capacity sweep: one capacity test per step, its report written the same way.
    const sweep = (await lsp.connection.sendRequest('workspace/executeCommand', {
      command: ServerCommands.runCapacitySweep,
      arguments: [{ durationMs: 50, range: { from: 2, to: 4, step: 2 } }],
    })) as ServerCommandResult;
    assert.equal(sweep.outcome, 'done', sweep.message);
    dirs.push(fileURLToPath(sweep.reportUri!));
    assert.match(sweep.message, /capacity sweep PASS: 2 step\(s\)/);
    assert.ok(!(await readFile(fileURLToPath(sweep.reportUri!), 'utf8')).includes(PASSWORD));
  });

  it('cancels a running test through window/workDoneProgress/cancel, closing its connections', async () => {
    const w = await workspace(config(6, 2));
    const { lsp } = await plainSession(w.dir);
    const running = lsp.connection.sendRequest('workspace/executeCommand', {
      command: ServerCommands.runSustainedTest,
      arguments: [{ agents: 4, durationMs: 60_000 }],
    }) as Promise<ServerCommandResult>;
    const begun = await lsp.waitForProgress((p) => p.value.kind === 'begin', 20_000);
    // Wait until the test's agents hold connections, so the cancel has something to close.
    const deadline = Date.now() + 20_000;
    while ((await cluster.countConnections('pool-capacity/', { prefix: true })) < 4) {
      assert.ok(Date.now() < deadline, 'the test never held 4 connections');
      await new Promise((r) => setTimeout(r, 50));
    }
    await lsp.connection.sendNotification('window/workDoneProgress/cancel', { token: begun.token });
    const answer = await running;
    if (answer.reportUri) dirs.push(fileURLToPath(answer.reportUri));
    assert.equal(answer.outcome, 'error');
    assert.match(answer.message, /cancelled/);
    assert.equal(
      await cluster.waitForConnections('pool-capacity/', 0, { prefix: true, timeoutMs: 15_000 }),
      0,
    );
    await lsp.waitForProgress((p) => p.token === begun.token && p.value.kind === 'end');
  });
});
