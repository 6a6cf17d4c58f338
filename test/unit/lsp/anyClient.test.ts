// What lets any LSP client use the server, in pure parts: the command arguments, the watched files,
// the settings without workspace/configuration, one publish per change, the server findings kept
// until the new probe answers. No server is read (the registry runs untrusted or with outcomes given).
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { FileChangeType, type FileEvent, type PublishDiagnosticsParams } from 'vscode-languageserver';
import type { ProbeOutcome } from '../../../server/src/core/capacity/serverFacts';
import { resolveConfig } from '../../../server/src/io/config/configFiles';
import {
  ConfigRegistry,
  type RegistryConnection,
  unchangedServers,
} from '../../../server/src/lsp/configRegistry';
import { pathToUri } from '../../../server/src/lsp/configWorkspace';
import { FolderWatchers, watchedFolders, watcherGlobs } from '../../../server/src/lsp/fileWatching';
import { defaultSweepRange, parseCommandArguments } from '../../../server/src/lsp/serverCommands';

const folder = mkdtempSync(join(tmpdir(), 'pool-capacity-any-client-'));
after(() => rmSync(folder, { recursive: true, force: true }));

function configFile(name: string, text: string): { uri: string; path: string } {
  mkdirSync(join(folder, name, '.claude-flow'), { recursive: true });
  const path = join(folder, name, '.claude-flow', 'config.yaml');
  writeFileSync(path, text);
  return { uri: pathToUri(path), path };
}

const pools = (project: string, port = 5432) =>
  `swarm:\n  maxAgents: 10\nmemory:\n  postgresql:\n    project:\n      host: 127.0.0.1\n      port: ${port}\n      database: appdb\n      user: app\n      poolSize: ${project}\n`;

function fakeConnection(pulled?: unknown) {
  const published: PublishDiagnosticsParams[] = [];
  const connection = {
    sendDiagnostics: async (params: PublishDiagnosticsParams) => {
      published.push(params);
    },
    workspace: { getConfiguration: async () => pulled },
    console: { error: () => {} },
  } as unknown as RegistryConnection;
  return { connection, published };
}

describe('workspace/executeCommand arguments', () => {
  it('takes a config uri or an object, and says what is wrong with anything else', () => {
    assert.deepEqual(parseCommandArguments(undefined), {});
    assert.deepEqual(parseCommandArguments(['file:///w/.claude-flow/config.yaml']), {
      configUri: 'file:///w/.claude-flow/config.yaml',
    });
    assert.deepEqual(parseCommandArguments([{ agents: 20, durationMs: 0, force: true }]), {
      configUri: undefined,
      agents: 20,
      durationMs: 0,
      force: true,
      range: undefined,
    });
    assert.match(
      parseCommandArguments([{ agents: 0 }]) as string,
      /"agents" must be a whole number of at least 1/,
    );
    assert.match(parseCommandArguments([{ agents: '20' }]) as string, /"agents"/);
    assert.match(parseCommandArguments([42]) as string, /config uri or an object/);
    assert.match(parseCommandArguments([{ range: { from: 9, to: 3, step: 1 } }]) as string, /"range"/);
    assert.deepEqual(
      (parseCommandArguments([{ range: { from: 2, to: 8, step: 2 } }]) as { range: unknown }).range,
      {
        from: 2,
        to: 8,
        step: 2,
      },
    );
  });

  it('sweeps from a quarter of the project pool to twice it when no range is given', () => {
    const config = {
      uri: 'file:///c',
      targetAgents: 35,
      pools: [{ name: 'project', poolSize: 40, server: 'h:1' }],
    };
    assert.deepEqual(defaultSweepRange(config), { from: 10, to: 80, step: 10 });
    assert.deepEqual(defaultSweepRange({ ...config, pools: [] }), { from: 9, to: 70, step: 9 });
  });
});

describe('watched files', () => {
  it('watches each config folder, the .env beside it and the password file', () => {
    const folders = watchedFolders(
      ['/w/a/.claude-flow/config.yaml', '/w/b/.claude-flow/config.yml'],
      '/home/u/.pgpass',
    );
    assert.deepEqual(
      [...folders].map(([f, names]) => [f, [...names].sort()]),
      [
        ['/w/a/.claude-flow', ['config.yaml', 'config.yml']],
        ['/w/a', ['.env']],
        ['/w/b/.claude-flow', ['config.yaml', 'config.yml']],
        ['/w/b', ['.env']],
        ['/home/u', ['.pgpass']],
      ],
    );
  });

  it('registers the password file as a relative pattern only where the client allows it', () => {
    const relative = watcherGlobs(
      { workspace: { didChangeWatchedFiles: { relativePatternSupport: true } } },
      '/h/.pgpass',
    );
    assert.deepEqual(relative[2], { globPattern: { baseUri: 'file:///h', pattern: '.pgpass' } });
    assert.deepEqual(watcherGlobs({}, '/h/.pgpass')[2], { globPattern: '/h/.pgpass' });
  });

  it('reports a .env written by another program, and stops watching when disposed', async () => {
    const { path } = configFile('watched', pools('5'));
    const changes: FileEvent[][] = [];
    let heard: () => void = () => {};
    const watchers = new FolderWatchers(
      (c) => {
        changes.push(c);
        heard();
      },
      () => {},
    );
    try {
      watchers.follow([path]);
      assert.ok(watchers.size >= 2);
      const dotenv = join(folder, 'watched', '.env');
      const seen = new Promise<void>((resolve, reject) => {
        // The deadline is also what keeps the process alive meanwhile: the watchers are not
        // persistent, and node:test's own timeout does not hold the event loop open.
        const timer = setTimeout(() => reject(new Error('no change reported within 5 s')), 5000);
        heard = () => {
          if (changes.flat().some((c) => c.uri === pathToUri(dotenv))) {
            clearTimeout(timer);
            resolve();
          }
        };
      });
      writeFileSync(dotenv, 'APP_PASSWORD=x\n');
      await seen;
      assert.equal(changes.flat().find((c) => c.uri === pathToUri(dotenv))?.type, FileChangeType.Changed);
    } finally {
      watchers.dispose();
    }
    assert.equal(watchers.size, 0);
  });
});

describe('config registry for any client', () => {
  it('uses initializationOptions.settings and pushes without workspace/configuration', async () => {
    const { connection } = fakeConnection();
    const registry = new ConfigRegistry(connection);
    registry.pushedSettings = { targetAgents: 12 };
    assert.equal((await registry.settingsFor('file:///x')).targetAgents, 12);
    registry.settingsChanged({ targetAgents: 7 });
    assert.equal((await registry.settingsFor('file:///x')).targetAgents, 7);
    registry.settingsChanged(undefined);
    assert.equal((await registry.settingsFor('file:///x')).targetAgents, 7);
    registry.dispose();
  });

  it('falls back to the settings given at start when workspace/configuration answers null', async () => {
    const { connection } = fakeConnection(null);
    const registry = new ConfigRegistry(connection);
    registry.canPullSettings = true;
    registry.pushedSettings = { targetAgents: 9 };
    assert.equal((await registry.settingsFor('file:///x')).targetAgents, 9);
    registry.dispose();
  });

  it('publishes a set of findings once, however often it is validated again', async () => {
    const { connection, published } = fakeConnection();
    const registry = new ConfigRegistry(connection);
    registry.trusted = false;
    const { uri, path } = configFile('once', pools('"many"'));
    for (let i = 0; i < 3; i++) {
      registry.schedule(uri, path, 0);
      await registry.entry(uri)?.settled;
    }
    assert.equal(published.length, 1);
    configFile('once', pools('12'));
    registry.schedule(uri, path, 0);
    await registry.entry(uri)?.settled;
    assert.equal(published.length, 2);
    assert.deepEqual(published[1]!.diagnostics, []);
    registry.dispose();
  });

  it('a clean config still gets one (empty) publish when its validation completes', async () => {
    const { connection, published } = fakeConnection();
    const registry = new ConfigRegistry(connection);
    registry.trusted = false;
    const { uri, path } = configFile('clean', pools('12'));
    registry.schedule(uri, path, 0);
    await registry.entry(uri)?.settled;
    assert.deepEqual(
      published.map((p) => p.diagnostics.length),
      [0],
    );
    registry.dispose();
  });
});

describe('server findings kept until the new probe answers', () => {
  const refused: ProbeOutcome = {
    ok: false,
    failure: { class: 'connection-refused', message: 'connection refused' },
  } as ProbeOutcome;

  it('keeps the outcome of a pool whose server, user and database are unchanged', async () => {
    const path = join(folder, 'kept', '.claude-flow', 'config.yaml');
    const before = await resolveConfig(path, pools('5'), {});
    const resized = await resolveConfig(path, pools('9'), {});
    const moved = await resolveConfig(path, pools('5', 6543), {});
    assert.deepEqual(unchangedServers(before, { project: refused }, resized), { project: refused });
    assert.deepEqual(unchangedServers(before, { project: refused }, moved), {});
  });
});
