/**
 * The real language server over stdio: a password never reaches a published diagnostic (the YAML
 * parser's error about an unquoted `|…` password included), and a password from the environment
 * going to a host the config chose is pointed out, until the user confirms the host.
 */
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { pathToFileURL } from 'node:url';
import { DiagnosticSeverity } from 'vscode-languageserver-protocol';
import { LspSession } from '../../harness/lspSession';

const SECRET = 'Lsp-secret-6172';

describe('language server: secrets in diagnostics', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'pool-capacity-lsp-secrets-'));
    await mkdir(join(dir, '.claude-flow'));
  });
  after(() => rm(dir, { recursive: true, force: true }));

  const uri = () => pathToFileURL(join(dir, '.claude-flow', 'config.yaml')).toString();
  // A host that does not resolve: the probe fails fast (and names the host), so the test needs no server.
  const config = (password: string) => `memory:
  postgresql:
    project:
      host: db.invalid
      port: 5432
      database: app
      user: app
      password: ${password}
      poolSize: 5
`;

  it('an unquoted |password is not quoted in any published diagnostic', async () => {
    const session = new LspSession({ workspace: dir, settings: {} });
    try {
      await session.initialize();
      await session.open(uri(), config(`|${SECRET}`), 1);
      const found = await session.waitForDiagnostics(uri(), (d) => d.some((x) => x.code === 'yaml-syntax'));
      for (const d of found) assert.ok(!d.message.includes(SECRET), d.message);
      assert.match(found.find((d) => d.code === 'yaml-syntax')!.message, /password key is not valid YAML/);
    } finally {
      await session.close();
    }
  });

  it('secret-from-environment for an unconfirmed host, gone once the host is in trustedHosts', async () => {
    for (const [trustedHosts, expected] of [
      [[], 1],
      [['db.invalid'], 0],
    ] as const) {
      const session = new LspSession({
        workspace: dir,
        env: { APP_DB_PASSWORD: SECRET },
        settings: { trustedHosts },
      });
      try {
        await session.initialize();
        await session.open(uri(), config('${APP_DB_PASSWORD}'), 1);
        // The probe's answer (host not found) comes last: then every finding is in.
        const found = await session.waitForDiagnostics(uri(), (d) =>
          d.some((x) => x.code === 'server-unreachable'),
        );
        const notices = found.filter((d) => d.code === 'secret-from-environment');
        assert.equal(notices.length, expected, JSON.stringify(found));
        if (expected) {
          assert.equal(notices[0]!.severity, DiagnosticSeverity.Information);
          assert.match(notices[0]!.message, /\$\{APP_DB_PASSWORD\} will be sent to db\.invalid:5432/);
        }
        for (const d of found) assert.ok(!d.message.includes(SECRET), d.message);
      } finally {
        await session.close();
      }
    }
  });
});
