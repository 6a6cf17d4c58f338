// Every quick fix the real language server offers, applied alone in turn, against a real PostgreSQL:
// the finding it was offered for clears and no new Error or Warning appears on that server.
import assert from 'node:assert/strict';
import { after, afterEach, before, describe, it } from 'node:test';
import type { CodeAction, Diagnostic, Hover } from 'vscode-languageserver-protocol';
import { TextDocument } from 'vscode-languageserver-textdocument';
import { poolConfigYaml } from '../../harness/configFixture';
import type { LspSession } from '../../harness/lspSession';
import { LspWorkspaces, startAppCluster } from '../../harness/lspWorkspaces';
import type { Cluster } from '../../harness/pgCluster';
import { ListConfigsRequest } from '../../shared/protocol';

const PASSWORD = 'fix-Secret-41d7';
const LIMITED_PASSWORD = 'limited-Secret-88a1';

describe('quick fixes hold when applied (real server over stdio, real PostgreSQL)', () => {
  let cluster: Cluster;
  const lsps = new LspWorkspaces();

  before(async () => {
    // The demo's server: 20 slots, 3 reserved for superusers, so 17 usable by the pools' roles.
    cluster = await startAppCluster(20, PASSWORD);
    await cluster.createRole('limited', { password: LIMITED_PASSWORD, connectionLimit: 6 });
    await cluster.sql('GRANT CONNECT ON DATABASE appdb TO limited');
  });

  afterEach(() => lsps.closeSessions());

  after(async () => {
    await lsps.removeAll();
    await cluster?.stop();
  });

  const config = (project: number, shared: number, projectUser = 'app') =>
    poolConfigYaml({
      maxAgents: 8,
      project: {
        port: cluster.port,
        database: 'appdb',
        user: projectUser,
        password: projectUser === 'app' ? '${APP_PASSWORD}' : '${LIMITED_PASSWORD}',
        poolSize: project,
      },
      shared: {
        port: cluster.port,
        database: 'shareddb',
        password: '${APP_PASSWORD}',
        poolSize: shared,
        poolSizeComment: 'knowledge shared between projects',
      },
    });

  /** A workspace with the config, opened in a fresh server; resolves once its first verdict is in. */
  async function openConfig(text: string) {
    const { dir, uri } = await lsps.workspace(
      'pool-capacity-fixes-',
      text,
      `APP_PASSWORD=${PASSWORD}\nLIMITED_PASSWORD=${LIMITED_PASSWORD}\n`,
    );
    const lsp = lsps.session({ workspace: dir });
    await lsp.initialize();
    await lsp.open(uri, text);
    return { lsp, uri, diagnostics: await settled(lsp, uri) };
  }

  /**
   * The diagnostics once the latest validation has published its complete result: the server
   * answers listConfigs only after every validation scheduled before it has settled.
   */
  async function settled(lsp: LspSession, uri: string): Promise<Diagnostic[]> {
    await lsp.connection.sendRequest(ListConfigsRequest.method, {});
    return lsp.diagnostics(uri) ?? [];
  }

  const key = (d: Diagnostic) => `${d.code}@${d.range.start.line}`;
  const serious = (ds: Diagnostic[]) => ds.filter((d) => d.severity === 1 || d.severity === 2);

  /**
   * Applies every fix offered for every capacity finding, each alone on the original text, and
   * checks the re-validation. Returns what was applied, for the scenario's own assertions.
   */
  async function applyEveryFix(text: string): Promise<{ before: Diagnostic[]; applied: string[] }> {
    const { lsp, uri, diagnostics: before } = await openConfig(text);
    const original = TextDocument.create(uri, 'yaml', 1, text);
    const applied: string[] = [];
    let version = 1;
    for (const finding of serious(before)) {
      const actions = (await lsp.connection.sendRequest('textDocument/codeAction', {
        textDocument: { uri },
        range: finding.range,
        context: { diagnostics: [finding] },
      })) as CodeAction[];
      for (const action of actions) {
        const edited = TextDocument.applyEdits(original, action.edit!.changes![uri]!);
        await lsp.change(uri, edited, ++version);
        const after = serious(await settled(lsp, uri));
        const label = `"${action.title}" for ${key(finding)} ${finding.message}`;
        assert.ok(
          !after.some((d) => key(d) === key(finding)),
          `${label} left the finding: ${after.map((d) => d.message).join(' | ')}`,
        );
        const known = new Set(before.map(key));
        const added = after.filter((d) => !known.has(key(d)));
        // Shrinking the project pool under the target is said in the fix's own title.
        const unannounced = added.filter(
          (d) => !(d.code === 'pool-below-target' && /below the \d+-agent target/.test(action.title)),
        );
        assert.deepEqual(
          unannounced.map((d) => d.message),
          [],
          `${label} added findings`,
        );
        applied.push(action.title);
        // Back to the original for the next fix.
        await lsp.change(uri, text, ++version);
        assert.deepEqual((await settled(lsp, uri)).map(key), before.map(key));
      }
    }
    return { before, applied };
  }

  it("the demo (project 40 + shared 3 on max_connections 20): the error is the project pool's, its fixes hold", async () => {
    const { before, applied } = await applyEveryFix(config(40, 3));
    // shared (3) is fine: shrinking it alone cannot make room, so it carries no error and no fix.
    assert.deepEqual(
      serious(before).map((d) => [d.code, d.range.start.line]),
      [['pool-exceeds-server', 11]],
    );
    assert.match(
      before[0]!.message.slice(0, 80),
      /^project 40 \+ shared 3 = 43 > 1\d free on 127\.0\.0\.1:\d+/,
    );
    assert.match(before[0]!.relatedInformation![0]!.message, /^shared 3 counts in the same sum/);
    assert.deepEqual(
      applied.map((t) => t.replace(/\d+/g, 'N')),
      ['Set poolSize to N', 'Resize all pools on this server (project N, shared N)'],
    );
  });

  it('two pools that can each make room: a fix on each, and one resize of both', async () => {
    const { before, applied } = await applyEveryFix(config(10, 9));
    assert.deepEqual(
      serious(before).map((d) => d.code),
      ['pool-exceeds-server', 'pool-exceeds-server'],
    );
    assert.equal(applied.filter((t) => t.startsWith('Set poolSize to')).length, 2);
    assert.equal(applied.filter((t) => t.startsWith('Resize all pools on this server')).length, 2);
  });

  it('low-headroom: each fix restores the headroom', async () => {
    // 11 + 4 = 15 of about 16 free leaves less than the 2 slots of headroom (10% of 17).
    const { before, applied } = await applyEveryFix(config(11, 4));
    assert.deepEqual(
      serious(before).map((d) => d.code),
      ['low-headroom', 'low-headroom'],
    );
    assert.ok(applied.length >= 2, applied.join());
  });

  it("a role's CONNECTION LIMIT: the fix sizes the pool to what the role has left", async () => {
    const { before, applied } = await applyEveryFix(config(8, 3, 'limited'));
    assert.deepEqual(
      serious(before).map((d) => [d.code, d.range.start.line]),
      [['pool-exceeds-role-limit', 11]],
    );
    assert.match(before[0]!.message, /^project 8 > 6 left of role "limited" CONNECTION LIMIT 6/);
    assert.deepEqual(applied, ['Set poolSize to 6 (below the 8-agent target)']);
  });

  it('the hover explains the same budget in under 15 lines', async () => {
    const text = config(40, 3);
    const { lsp, uri } = await openConfig(text);
    const doc = TextDocument.create(uri, 'yaml', 1, text);
    const hover = (await lsp.connection.sendRequest('textDocument/hover', {
      textDocument: { uri },
      position: doc.positionAt(text.indexOf('poolSize: 40') + 'poolSize: '.length + 1),
    })) as Hover;
    const markdown = (hover.contents as { value: string }).value;
    assert.ok(markdown.split('\n').length < 15, markdown);
    assert.match(
      markdown,
      /Pools here: project 40 \+ shared 3 = 43 — does not fit; 2 must stay free as headroom/,
    );
    assert.match(markdown, /Largest project size that keeps the headroom, the other pools as they are: 1\d/);
    assert.ok(!markdown.includes(PASSWORD));
  });
});
