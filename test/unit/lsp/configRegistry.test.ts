// The config registry's debounce and stale-dropping, with the connection faked (no server is read:
// the workspace is untrusted, so validation never connects).
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import type { PublishDiagnosticsParams } from 'vscode-languageserver';
import { ConfigRegistry, type RegistryConnection } from '../../../server/src/lsp/configRegistry';
import { pathToUri } from '../../../server/src/lsp/configWorkspace';

const folder = mkdtempSync(join(tmpdir(), 'pool-capacity-registry-'));
after(() => rmSync(folder, { recursive: true, force: true }));

function configFile(name: string, poolSize: string): { uri: string; path: string } {
  mkdirSync(join(folder, name, '.claude-flow'), { recursive: true });
  const path = join(folder, name, '.claude-flow', 'config.yaml');
  writeFileSync(
    path,
    `memory:\n  postgresql:\n    project:\n      host: 127.0.0.1\n      poolSize: ${poolSize}\n`,
  );
  return { uri: pathToUri(path), path };
}

/** A connection whose settings answers the test releases one by one, in the order it chooses. */
function fakeConnection() {
  const published: PublishDiagnosticsParams[] = [];
  const settingsAsked: ((value: unknown) => void)[] = [];
  let asked: () => void = () => {};
  const connection = {
    sendDiagnostics: async (params: PublishDiagnosticsParams) => {
      published.push(params);
    },
    workspace: {
      getConfiguration: () =>
        new Promise((resolve) => {
          settingsAsked.push(resolve);
          asked();
        }),
    },
    console: { error: () => {} },
  } as unknown as RegistryConnection;
  /** Resolves once the settings have been asked `n` times in all. */
  const settingsAskedTimes = (n: number) =>
    new Promise<void>((resolve) => {
      asked = () => {
        if (settingsAsked.length >= n) resolve();
      };
      asked();
    });
  return { connection, published, settingsAsked, settingsAskedTimes };
}

const mentions = (params: PublishDiagnosticsParams[], text: string) =>
  params.some((p) => p.diagnostics.some((d) => d.message.includes(text)));

describe('config registry', () => {
  it('validates a config once for a burst of changes (debounce)', async () => {
    const { connection, published } = fakeConnection();
    const registry = new ConfigRegistry(connection);
    registry.trusted = false;
    const { uri, path } = configFile('debounce', '12');
    let validations = 0;
    registry.onServersChanged(() => validations++);
    for (let i = 0; i < 5; i++) registry.schedule(uri, path, 50);
    await registry.entry(uri)?.settled;
    assert.equal(validations, 1);
    assert.ok(published.length > 0, 'the one validation published its diagnostics');
    assert.ok(published.every((p) => p.uri === uri));
    assert.equal(registry.entry(uri)?.loaded?.pools[0]?.poolSize, 12);
    registry.dispose();
  });

  it('a wait on a validation that is replaced before it runs ends with the one that replaces it', {
    timeout: 5000,
  }, async () => {
    const { connection } = fakeConnection();
    const registry = new ConfigRegistry(connection);
    registry.trusted = false;
    const { uri, path } = configFile('replaced', '7');
    registry.schedule(uri, path, 50);
    // A request (ListConfigs, a load test) starts waiting now; an edit then replaces the validation.
    const first = registry.entry(uri)?.settled;
    registry.schedule(uri, path, 50);
    // A wait that never ends fails the test on its timeout (or as still pending once the event loop is empty).
    const answered = await first?.then(() => 'answered');
    assert.equal(answered, 'answered');
    assert.equal(registry.entry(uri)?.loaded?.pools[0]?.poolSize, 7);
    registry.dispose();
  });

  it('publishes what is wrong with a poolSize (what the next test must not see)', async () => {
    const { connection, published } = fakeConnection();
    const registry = new ConfigRegistry(connection);
    registry.trusted = false;
    const { uri, path } = configFile('bad', '"many"');
    registry.schedule(uri, path, 0);
    await registry.entry(uri)?.settled;
    assert.ok(mentions(published, 'many'));
    registry.dispose();
  });

  it('drops the result of a validation that a newer one overtook', async () => {
    const { connection, published, settingsAsked, settingsAskedTimes } = fakeConnection();
    const registry = new ConfigRegistry(connection);
    registry.trusted = false;
    registry.canPullSettings = true;
    const { uri, path } = configFile('stale', '"many"');
    registry.schedule(uri, path, 0);
    const older = registry.entry(uri)?.settled;
    // The first validation waits for its settings; meanwhile the file is fixed and validated again.
    await settingsAskedTimes(1);
    configFile('stale', '7');
    registry.schedule(uri, path, 0);
    const newer = registry.entry(uri)?.settled;
    await settingsAskedTimes(2);
    settingsAsked[1]!({});
    await newer;
    const afterNewer = published.length;
    assert.ok(afterNewer > 0);
    // Now the older validation gets its settings: its result (the bad poolSize) must not appear.
    settingsAsked[0]!({});
    await older;
    assert.equal(published.length, afterNewer);
    assert.ok(!mentions(published, 'many'), 'no diagnostic of the overtaken text was published');
    assert.equal(registry.entry(uri)?.loaded?.pools[0]?.poolSize, 7);
    registry.dispose();
  });
});
