import * as assert from 'node:assert/strict';
import * as vscode from 'vscode';
import { ServerCommands } from '../../../shared/protocol';
import { activateExtension, EXTENSION_ID } from './harness';

describe('the extension', () => {
  it('is installed and activates', async () => {
    const extension = vscode.extensions.getExtension(EXTENSION_ID);
    assert.ok(extension, `${EXTENSION_ID} is not among ${vscode.extensions.all.length} extensions`);
    await extension.activate();
    assert.equal(extension.isActive, true);
  });

  it('registers every command package.json contributes', async () => {
    const extension = vscode.extensions.getExtension(EXTENSION_ID)!;
    await extension.activate();
    const contributed = (extension.packageJSON.contributes?.commands ?? []) as { command: string }[];
    assert.ok(contributed.length > 0, 'package.json contributes no commands');
    const registered = new Set(await vscode.commands.getCommands(true));
    const missing = contributed.map((c) => c.command).filter((id) => !registered.has(id));
    assert.deepEqual(missing, [], `contributed but not registered: ${missing.join(', ')}`);
  });

  it("registers the server's executeCommand commands beside its own, without a clash", async () => {
    // The language client registers every command of executeCommandProvider in VS Code: had one
    // the id of a contributed command, the client would fail to start ("command already exists").
    const api = await activateExtension();
    await api.ready;
    assert.doesNotMatch(api.outputText(), /already exists/);
    const registered = new Set(await vscode.commands.getCommands(true));
    const missing = Object.values(ServerCommands).filter((id) => !registered.has(id));
    assert.deepEqual(missing, [], `server commands not registered: ${missing.join(', ')}`);
  });
});
