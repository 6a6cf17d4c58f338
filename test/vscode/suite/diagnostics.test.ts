// Diagnostics, quick fixes and hover on the fixture config (the `npm start` demo), against the live
// fixture server: the project pool (40) and the shared pool (3) together exceed the 17 slots a
// non-superuser may use of 20. Every offered fix is applied in turn and the re-validation checked.
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

  it('reports pool-exceeds-server on the project pool, figures first, shared as related information', async () => {
    const uri = configUri();
    assert.equal(
      vscode.workspace.textDocuments.some((d) => d.uri.toString() === uri.toString()),
      false,
      'the config should not be open yet: the server validates workspace configs on startup',
    );
    const diagnostics = await waitForDiagnostics(uri, hasServerVerdict, 'pool-exceeds-server');
    // Shrinking shared (3) alone cannot make room for project (40): the error is project's only.
    assert.deepEqual(
      diagnostics.map((d) => ({ code: d.code, severity: d.severity, source: d.source, range: d.range })),
      [
        {
          code: 'pool-exceeds-server',
          severity: vscode.DiagnosticSeverity.Error,
          source: DIAGNOSTIC_SOURCE,
          range: poolSizeRange(fixture.project),
        },
      ],
      `got ${describeDiagnostics(diagnostics)}`,
    );
    const [project] = diagnostics;
    // What the Problems panel shows of it: the sum and the free slots.
    assert.match(
      project!.message.slice(0, 80),
      new RegExp(
        `^project ${fixture.project.poolSize} \\+ shared ${fixture.shared.poolSize} = ${poolsTotal} > \\d+ free on 127\\.0\\.0\\.1:${fixture.port}`,
      ),
    );
    assert.ok(
      project!.message.includes(
        `max_connections ${fixture.maxConnections} − ${fixture.superuserReservedConnections} reserved`,
      ),
      project!.message,
    );
    assert.deepEqual(
      project!.relatedInformation?.map((r) => ({ uri: r.location.uri.toString(), range: r.location.range })),
      [{ uri: uri.toString(), range: poolSizeRange(fixture.shared) }],
    );
    assert.match(project!.relatedInformation![0]!.message, /^shared 3 counts in the same sum/);
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

    it('a hover on a pool size shows the budget in a few plain lines', async () => {
      const range = poolSizeRange(fixture.project);
      const text = await hoverAt(range, 'max_connections');
      assert.ok(text.includes('**Pool Capacity — project pool**'), text);
      assert.ok(text.split('\n').length < 15, text);
      // Free for the role is what the server had left when probed: usable slots less the other clients.
      const usedByOthers = Number(/− (\d+) used by others/.exec(text)?.[1]);
      assert.ok(Number.isInteger(usedByOthers) && usedByOthers >= 0, text);
      assert.ok(
        text.includes(
          `Server: max_connections ${fixture.maxConnections} − ${fixture.superuserReservedConnections} reserved − ${usedByOthers} used by others = ${usableSlots - usedByOthers} free for this role`,
        ),
        text,
      );
      assert.ok(text.includes(`Pools here: project 40 + shared 3 = ${poolsTotal} — does not fit`), text);
      assert.match(text, /Target: 8 concurrent agents \(swarm\.maxAgents\)/);
      assert.match(text, /PostgreSQL \d+\.\d+\b.* · read \d+ s ago/);
    });

    /** Our hover at the start of a range, once the server has validated the text and it mentions `needle`. */
    async function hoverAt(range: vscode.Range, needle: string): Promise<string> {
      const hovers = await pollUntil(async () => {
        const found = await vscode.commands.executeCommand<vscode.Hover[]>(
          'vscode.executeHoverProvider',
          document.uri,
          range.start.translate(0, 1),
        );
        return found.some((h) => hoverText([h]).includes(needle)) ? found : undefined;
      }, `no hover with "${needle}" on the project poolSize`);
      const ours = hovers.filter((h) => hoverText([h]).includes('Pool Capacity'));
      assert.equal(ours.length, 1, hoverText(hovers));
      assert.deepEqual(ours[0]!.range, range);
      return hoverText(ours);
    }

    it('every quick fix, applied alone, clears the error and leaves no Error or Warning', async () => {
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
      const fixes = actions.filter((a) => /^(Set poolSize to|Resize all pools)/.test(a.title));
      assert.deepEqual(
        fixes.map((a) => a.title.replace(/\d+/g, 'N')),
        ['Set poolSize to N', 'Resize all pools on this server (project N, shared N)'],
        `code actions: ${actions.map((a) => a.title).join(', ') || '(none)'}`,
      );
      assert.equal(fixes[0]!.isPreferred, true);

      for (const fix of fixes) {
        assert.deepEqual(fix.kind?.value, vscode.CodeActionKind.QuickFix.value);
        assert.ok(fix.edit, `${fix.title} carries no edit`);
        const edits = fix.edit.entries();
        assert.equal(edits.length, 1);
        assert.equal(edits[0]![0].toString(), document.uri.toString());
        // Only numbers are replaced, comments and layout kept.
        for (const e of edits[0]![1]) assert.match(e.newText, /^\d+$/);
        assert.equal(await vscode.workspace.applyEdit(fix.edit), true);
        const sizes = [fixture.project, fixture.shared].map((p) =>
          Number(/poolSize: (\d+)$/.exec(document.lineAt(p.poolSizeLine).text)?.[1]),
        );
        assert.ok(sizes[0]! < fixture.project.poolSize, `${fix.title}: ${sizes}`);

        // The server has judged the new sizes once its hover says they fit; then nothing is left.
        await hoverAt(
          range,
          `Pools here: project ${sizes[0]} + shared ${sizes[1]} = ${sizes[0]! + sizes[1]!} — fits;`,
        );
        const after = await waitForDiagnostics(
          document.uri,
          (ds) => !ds.some((d) => d.code === 'pool-exceeds-server'),
          `revalidation after "${fix.title}"`,
        );
        assert.deepEqual(
          after.filter(
            (d) =>
              d.severity === vscode.DiagnosticSeverity.Error ||
              d.severity === vscode.DiagnosticSeverity.Warning,
          ),
          [],
          `after "${fix.title}": ${describeDiagnostics(after)}`,
        );

        // Put the text back (and save, so the file on disk is what it was); the verdict returns.
        const undo = new vscode.WorkspaceEdit();
        undo.replace(document.uri, new vscode.Range(0, 0, document.lineCount, 0), original);
        assert.equal(await vscode.workspace.applyEdit(undo), true);
        assert.equal(document.getText(), original);
        await document.save();
        await waitForDiagnostics(
          document.uri,
          hasServerVerdict,
          `pool-exceeds-server after undoing "${fix.title}"`,
        );
      }
    });
  });
});
