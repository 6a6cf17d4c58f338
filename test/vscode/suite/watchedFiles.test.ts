// The server registers its watched files with VS Code (the client declares no file events of its
// own): an edit of the workspace `.env` by another program re-validates the config.
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { activateExtension, configUri, fixture, hasServerVerdict, waitForDiagnostics } from './harness';

describe('files changed outside the editor', () => {
  before(async () => {
    await activateExtension();
  });

  it('re-validates when the workspace .env is rewritten, and again when it is restored', async () => {
    const uri = configUri();
    const dotenv = path.join(path.dirname(path.dirname(uri.fsPath)), '.env');
    const original = fs.readFileSync(dotenv, 'utf8');
    await waitForDiagnostics(uri, hasServerVerdict, 'the server verdict');
    try {
      fs.writeFileSync(
        dotenv,
        original.replace(
          `${fixture.project.passwordVar}=${fixture.project.password}`,
          `${fixture.project.passwordVar}=wrong`,
        ),
      );
      const failed = await waitForDiagnostics(
        uri,
        (ds) => ds.some((d) => d.code === 'auth-failed'),
        'auth-failed after the .env edit',
      );
      assert.ok(failed.every((d) => !d.message.includes(fixture.project.password)));
    } finally {
      fs.writeFileSync(dotenv, original);
    }
    await waitForDiagnostics(
      uri,
      (ds) => hasServerVerdict(ds) && !ds.some((d) => d.code === 'auth-failed'),
      'the verdict back after restoring .env',
    );
  });
});
