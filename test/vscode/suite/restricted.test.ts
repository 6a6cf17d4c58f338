// A restricted (untrusted) window on the same fixture config: the extension checks the config's syntax
// and values but opens no connection to its servers, not even when asked to run a load test.
import * as assert from 'node:assert/strict';
import type pg from 'pg';
import * as vscode from 'vscode';
import type { PoolCapacityApi } from '../../../client/src/poolCapacityContext';
import {
  activateExtension,
  configUri,
  connectAsSuperuser,
  describeDiagnostics,
  fixture,
  hoverText,
  type OurFootprint,
  ourDiagnostics,
  ourFootprint,
  pollUntil,
  poolSizeRange,
} from './harness';

const UNTRUSTED_STATUS = '$(shield) Pool Capacity';
/**
 * How long to watch the server for connections the extension should not open. A trusted window would
 * have probed both pools as soon as the config was validated, and the status poller connects on its
 * first tick and every 2 s (the default) after, so a window longer than one poll interval catches it.
 */
const WATCH_MS = 3_000;

/** Samples the server for WATCH_MS; fails on the first connection of ours or a new session. */
async function expectNoConnections(superuser: pg.Client, baseline: OurFootprint, during: string) {
  const deadline = Date.now() + WATCH_MS;
  let samples = 0;
  while (Date.now() < deadline) {
    const now = await ourFootprint(superuser);
    samples += 1;
    assert.deepEqual(now.open, [], `${during}: the extension has connections open`);
    assert.equal(
      now.sessions,
      baseline.sessions,
      `${during}: ${now.sessions - baseline.sessions} session(s) were opened to ${fixture.project.database}/${fixture.shared.database}`,
    );
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  assert.ok(samples > 1);
}

describe('a restricted (untrusted) workspace', () => {
  let api: PoolCapacityApi;
  let superuser: pg.Client;
  let baseline: OurFootprint;

  before(async () => {
    superuser = await connectAsSuperuser();
    baseline = await ourFootprint(superuser);
  });

  after(async () => {
    await superuser?.end();
  });

  it('opens untrusted', () => {
    assert.equal(vscode.workspace.isTrusted, false);
  });

  it('activates with its language server and shows the restricted state', async () => {
    api = await activateExtension();
    assert.equal(api.statusText(), UNTRUSTED_STATUS);
    assert.match(api.statusTooltip(), /Restricted workspace: Pool Capacity connects to no database/);
  });

  it('validates the config without reading a server, and makes no connection', async () => {
    const document = await vscode.workspace.openTextDocument(configUri());
    // The server's hover says it has validated this text and will not connect.
    const text = await pollUntil(async () => {
      const hovers = await vscode.commands.executeCommand<vscode.Hover[]>(
        'vscode.executeHoverProvider',
        document.uri,
        poolSizeRange(fixture.project).start,
      );
      const markdown = hoverText(hovers);
      return markdown.includes('Pool Capacity') ? markdown : undefined;
    }, 'no Pool Capacity hover on the project poolSize');
    assert.ok(text.includes(`pool size ${fixture.project.poolSize}`), text);
    assert.ok(
      text.includes('Not connected: this workspace is not trusted, so Pool Capacity reads no server.'),
      text,
    );
    assert.ok(!text.includes('max_connections'), text);
    // No finding that needs a server (the config's values are all valid, so there is none at all).
    const diagnostics = ourDiagnostics(document.uri);
    assert.deepEqual(diagnostics, [], describeDiagnostics(diagnostics));

    await expectNoConnections(superuser, baseline, 'after validating in a restricted window');
    assert.equal(api.statusText(), UNTRUSTED_STATUS);
  });

  it('refuses to run a capacity test, with no prompt and no connection', async () => {
    const before = api.outputText();
    // Guarded by trust: it warns and returns without a prompt (a prompt would leave this hanging).
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      vscode.commands.executeCommand('poolCapacity.runCapacityTest'),
      new Promise((_, reject) => {
        timer = setTimeout(() => reject(new Error('poolCapacity.runCapacityTest did not return')), 10_000);
      }),
    ]).finally(() => clearTimeout(timer));
    assert.equal(api.outputText(), before, 'the refused test wrote to the output channel');
    await expectNoConnections(superuser, baseline, 'after poolCapacity.runCapacityTest');
  });
});
