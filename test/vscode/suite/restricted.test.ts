import * as assert from 'node:assert/strict';
import * as vscode from 'vscode';

describe('a restricted (untrusted) workspace', () => {
  it('opens untrusted', () => {
    assert.equal(vscode.workspace.isTrusted, false);
  });
});
