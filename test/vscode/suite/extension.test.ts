import * as assert from 'node:assert/strict';
import * as vscode from 'vscode';

const extensionId = 'pool-capacity.pool-capacity';

describe('the extension', () => {
  it('is installed and activates', async () => {
    const extension = vscode.extensions.getExtension(extensionId);
    assert.ok(extension, `${extensionId} is not among ${vscode.extensions.all.length} extensions`);
    await extension.activate();
    assert.equal(extension.isActive, true);
  });
});
