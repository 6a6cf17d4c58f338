// The capacity dashboard webview: opened by its command, it draws the bar from the language server's
// budget for the fixture server, follows the status poll while visible, and hears nothing while hidden.
import * as assert from 'node:assert/strict';
import * as vscode from 'vscode';
import type { DashboardRendered } from '../../../client/src/dashboardPanel';
import type { PoolCapacityApi } from '../../../client/src/poolCapacityContext';
import { activateExtension, fixture, pollUntil } from './harness';

describe('the capacity dashboard', () => {
  let api: PoolCapacityApi;

  before(async () => {
    api = await activateExtension();
    await api.ready;
  });

  after(async () => {
    await vscode.commands.executeCommand('workbench.action.closeAllEditors');
  });

  /** Runs the command and resolves with the webview's first report of a drawn bar. */
  async function openDashboard(): Promise<DashboardRendered> {
    let listener: vscode.Disposable | undefined;
    const drawn = new Promise<DashboardRendered>((resolve) => {
      listener = api.dashboard.onDidRender((message) => {
        if (message.bars > 0) resolve(message);
      });
    });
    try {
      await vscode.commands.executeCommand('poolCapacity.openDashboard');
      return await Promise.race([
        drawn,
        new Promise<never>((_, reject) =>
          setTimeout(() => reject(new Error('the webview drew no bar within 20 s')), 20_000),
        ),
      ]);
    } finally {
      listener?.dispose();
    }
  }

  /** Each test stands alone (--grep): open the dashboard unless it is showing. */
  async function dashboardShowing(): Promise<void> {
    if (!api.dashboard.visible || !api.dashboard.lastRendered) await openDashboard();
  }

  it('opens on its command and reports the bar of the fixture server drawn', async () => {
    const rendered = await openDashboard();
    assert.equal(rendered.bars, 1);
    assert.equal(api.dashboard.visible, true);
    const bar = api.dashboard.model()!.capacity!.bars[0]!;
    assert.equal(bar.serverKey, `${fixture.host}:${fixture.port}`);
    assert.equal(bar.limit, fixture.maxConnections);
    const slots = Object.fromEntries(
      bar.segments.map((s) => [s.kind === 'pool' ? s.label : s.kind, s.slots]),
    );
    assert.equal(slots.reserved, fixture.superuserReservedConnections);
    // The demo's pools (40 + 3) need more than the server has: the rest is drawn past the limit.
    const inside = (slots['project pool'] ?? 0) + (slots['shared pool'] ?? 0);
    assert.equal(inside + slots.over!, fixture.project.poolSize + fixture.shared.poolSize);
    assert.equal(bar.status, 'FAIL');
    assert.match(bar.verdict[0]!, /^project 40 \+ shared 3 = 43 > \d+ free on /);
    assert.match(api.dashboard.model()!.title, /\.claude-flow\/config\.yaml$/);
  });

  it('shows "in use now" from the status poll while visible', async () => {
    await dashboardShowing();
    await pollUntil(
      () => (api.dashboard.lastRendered && api.dashboard.lastRendered.live >= 1 ? true : undefined),
      'the webview never drew the live reading',
      20_000,
    );
  });

  it('hears no status reading while hidden, and draws again when shown', async () => {
    await dashboardShowing();
    const column = api.dashboard.viewColumn;
    assert.ok(column !== undefined);
    // Another editor in the dashboard's group hides it.
    const document = await vscode.workspace.openTextDocument({
      content: 'hiding the dashboard',
      language: 'plaintext',
    });
    await vscode.window.showTextDocument(document, { viewColumn: column, preview: false });
    await pollUntil(() => (api.dashboard.visible ? undefined : true), 'the dashboard stayed visible');
    const posted = api.dashboard.livePosted;
    const seen = api.dashboard.statusSeen;
    // Two status polls pass while hidden: none reaches the webview.
    await pollUntil(
      () => (api.dashboard.statusSeen >= seen + 2 ? true : undefined),
      'no status reading arrived',
      20_000,
    );
    assert.equal(api.dashboard.livePosted, posted, 'a live reading went to the hidden dashboard');

    const message = await openDashboard();
    assert.equal(message.bars, 1);
    assert.equal(api.dashboard.visible, true);
  });
});
