// Diagnostics, quick fix and hover on the fixture config, against the live fixture server: the project
// pool (40) and the shared pool (3) together exceed the 17 slots a non-superuser may use of 20.
import * as assert from 'node:assert/strict';
import * as vscode from 'vscode';
import {
  activateExtension,
  configUri,
  DIAGNOSTIC_SOURCE,
  describeDiagnostics,
  fixture,
  hasServerVerdict,
  hoverText,
  pollUntil,
  poolSizeRange,
  waitForDiagnostics,
} from './harness';

const usableSlots = fixture.maxConnections - fixture.superuserReservedConnections;
const poolsTotal = fixture.project.poolSize + fixture.shared.poolSize;

describe('diagnostics against the live server', () => {
  before(async () => {
    await activateExtension();
  });

  it('reports pool-exceeds-server on each pool size, for a config nobody opened', async () => {
    const uri = configUri();
    assert.equal(
      vscode.workspace.textDocuments.some((d) => d.uri.toString() === uri.toString()),
      false,
      'the config should not be open yet: the server validates workspace configs on startup',
    );
    const diagnostics = await waitForDiagnostics(uri, hasServerVerdict, 'pool-exceeds-server');
    const sorted = [...diagnostics].sort((a, b) => a.range.start.line - b.range.start.line);
    assert.deepEqual(
      sorted.map((d) => ({
        code: d.code,
        severity: d.severity,
        source: d.source,
        range: d.range,
      })),
      [fixture.project, fixture.shared].map((pool) => ({
        code: 'pool-exceeds-server',
        severity: vscode.DiagnosticSeverity.Error,
        source: DIAGNOSTIC_SOURCE,
        range: poolSizeRange(pool),
      })),
      `got ${describeDiagnostics(diagnostics)}`,
    );
    const shares = `project ${fixture.project.poolSize} + shared ${fixture.shared.poolSize}`;
    const [project, shared] = sorted;
    assert.match(project!.message, /^project: the pools on 127\.0\.0\.1:\d+ need /);
    assert.match(shared!.message, /^shared: /);
    for (const d of sorted) {
      assert.ok(d.message.includes(`need ${poolsTotal} connections (${shares})`), d.message);
      assert.ok(
        d.message.includes(
          `max_connections ${fixture.maxConnections} − ${fixture.superuserReservedConnections} reserved`,
        ),
        d.message,
      );
    }
  });

  describe('in the open config', () => {
    let document: vscode.TextDocument;
    let original: string;

    before(async () => {
      document = await vscode.workspace.openTextDocument(configUri());
      await vscode.window.showTextDocument(document);
      original = document.getText();
      await waitForDiagnostics(document.uri, hasServerVerdict, 'pool-exceeds-server in the open config');
    });

    after(async () => {
      // Other suites expect the config as written; put the text back if a test failed half-way.
      if (document.getText() !== original) {
        const edit = new vscode.WorkspaceEdit();
        edit.replace(document.uri, new vscode.Range(0, 0, document.lineCount, 0), original);
        await vscode.workspace.applyEdit(edit);
      }
      if (document.isDirty) await document.save();
      await vscode.commands.executeCommand('workbench.action.closeActiveEditor');
    });

    it('a hover on a pool size shows the live server numbers', async () => {
      const range = poolSizeRange(fixture.project);
      // The server answers only once it has validated the open document's text; poll until it has.
      const hovers = await pollUntil(async () => {
        const found = await vscode.commands.executeCommand<vscode.Hover[]>(
          'vscode.executeHoverProvider',
          document.uri,
          range.start.translate(0, 1),
        );
        return found.some((h) => hoverText([h]).includes('max_connections')) ? found : undefined;
      }, 'no hover with max_connections on the project poolSize');
      const ours = hovers.filter((h) => hoverText([h]).includes('Pool Capacity'));
      assert.equal(ours.length, 1, hoverText(hovers));
      const text = hoverText(ours);
      assert.deepEqual(ours[0]!.range, range);
      assert.ok(text.includes('**Pool Capacity — project pool**'), text);
      assert.ok(text.includes(`| max_connections | ${fixture.maxConnections} |`), text);
      assert.ok(text.includes(`| reserved for superusers | ${fixture.superuserReservedConnections} |`), text);
      // Free for the role is what the server had left when probed: usable slots less the other clients.
      const usedByOthers = Number(/\| used by other clients \| (\d+) \|/.exec(text)?.[1]);
      assert.ok(Number.isInteger(usedByOthers) && usedByOthers >= 0, text);
      assert.ok(text.includes(`| free for this role | ${usableSlots - usedByOthers} |`), text);
      assert.ok(text.includes(`| pools on this server (project + shared) | ${poolsTotal} |`), text);
      assert.match(text, /\| target agents \| 8 \(swarm\.maxAgents\) \|/);
      assert.match(text, /PostgreSQL \d+\.\d+\b.* · read \d+ s ago/);
    });

    it('the "Set poolSize" quick fix replaces only the number and clears pool-exceeds-server', async () => {
      const range = poolSizeRange(fixture.project);
      const diagnostic = (
        await waitForDiagnostics(document.uri, hasServerVerdict, 'pool-exceeds-server')
      ).find((d) => d.code === 'pool-exceeds-server' && d.range.isEqual(range));
      assert.ok(diagnostic, `no pool-exceeds-server on the project poolSize`);

      const actions = await vscode.commands.executeCommand<vscode.CodeAction[]>(
        'vscode.executeCodeActionProvider',
        document.uri,
        range,
        vscode.CodeActionKind.QuickFix.value,
      );
      const fixes = actions.filter((a) => /^Set poolSize to \d+$/.test(a.title));
      assert.equal(fixes.length, 1, `code actions: ${actions.map((a) => a.title).join(', ') || '(none)'}`);
      const fix = fixes[0]!;
      assert.equal(fix.isPreferred, true);
      assert.deepEqual(fix.kind?.value, vscode.CodeActionKind.QuickFix.value);
      const newSize = Number(/(\d+)$/.exec(fix.title)![1]);
      assert.ok(newSize >= 1 && newSize < fixture.project.poolSize, fix.title);

      assert.ok(fix.edit, 'the quick fix carries no edit');
      const edits = fix.edit.entries();
      assert.equal(edits.length, 1);
      assert.equal(edits[0]![0].toString(), document.uri.toString());
      assert.deepEqual(
        edits[0]![1].map((e) => ({ range: e.range, newText: e.newText })),
        [{ range, newText: String(newSize) }],
      );

      assert.equal(await vscode.workspace.applyEdit(fix.edit), true);
      const start = document.offsetAt(range.start);
      const end = document.offsetAt(range.end);
      assert.equal(document.getText(), `${original.slice(0, start)}${newSize}${original.slice(end)}`);
      assert.equal(document.lineAt(range.start.line).text, `      poolSize: ${newSize}`);

      const after = await waitForDiagnostics(
        document.uri,
        (ds) => !ds.some((d) => d.code === 'pool-exceeds-server'),
        'revalidation without pool-exceeds-server',
      );
      // The fix sizes the project pool to keep the headroom together with the shared pool.
      assert.ok(
        after.every((d) => d.code === 'low-headroom'),
        `after the fix: ${describeDiagnostics(after)}`,
      );

      // Put the number back (and save, so the file on disk is what it was); the verdict returns.
      const undo = new vscode.WorkspaceEdit();
      undo.replace(
        document.uri,
        new vscode.Range(range.start, range.start.translate(0, String(newSize).length)),
        String(fixture.project.poolSize),
      );
      assert.equal(await vscode.workspace.applyEdit(undo), true);
      assert.equal(document.getText(), original);
      await document.save();
      await waitForDiagnostics(document.uri, hasServerVerdict, 'pool-exceeds-server after undoing the fix');
    });
  });
});
