import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { MACHINE_SCOPED_SETTINGS, sanitizeSettings, settingsDefaults } from '../../shared/settings';

const pkg = JSON.parse(readFileSync(join(__dirname, '..', '..', 'package.json'), 'utf8'));

/**
 * Contributed settings that are not ours to read: vscode-languageclient reads `<id>.trace.server`
 * (id 'poolCapacity') itself, so it has no place in PoolCapacitySettings and the server never gets it.
 */
const CLIENT_LIBRARY_SETTINGS = ['poolCapacity.trace.server'];

describe('settings', () => {
  it('package.json contributes exactly the settings type, with the same defaults', () => {
    const properties = pkg.contributes.configuration.properties as Record<
      string,
      { default: unknown; scope: string }
    >;
    assert.deepEqual(
      Object.keys(properties)
        .filter((key) => !CLIENT_LIBRARY_SETTINGS.includes(key))
        .sort(),
      Object.keys(settingsDefaults)
        .map((k) => `poolCapacity.${k}`)
        .sort(),
    );
    for (const [key, value] of Object.entries(settingsDefaults)) {
      assert.deepEqual(properties[`poolCapacity.${key}`]!.default, value, key);
      // Settings that grant a host something are the user's alone: a workspace cannot set them.
      const scope = (MACHINE_SCOPED_SETTINGS as readonly string[]).includes(key) ? 'machine' : 'resource';
      assert.equal(properties[`poolCapacity.${key}`]!.scope, scope, key);
    }
  });

  it('package.json contributes the language client trace setting the client library reads', () => {
    const trace = pkg.contributes.configuration.properties['poolCapacity.trace.server'];
    assert.ok(trace, 'poolCapacity.trace.server is contributed');
    assert.deepEqual(trace.enum, ['off', 'messages', 'verbose']);
    assert.equal(trace.default, 'off');
    // The client is created with this id, so the library looks the setting up under it.
    const context = readFileSync(
      join(__dirname, '..', '..', 'client', 'src', 'poolCapacityContext.ts'),
      'utf8',
    );
    assert.match(context, /new LanguageClient\('poolCapacity',/);
  });

  it('sanitizeSettings keeps good values and replaces bad ones with defaults', () => {
    assert.deepEqual(sanitizeSettings(undefined), settingsDefaults);
    const s = sanitizeSettings({
      targetAgents: 50,
      headroomThreshold: 'x',
      connectTimeoutMs: -1,
      loadTestAllowedHosts: [1],
    });
    assert.equal(s.targetAgents, 50);
    assert.equal(s.headroomThreshold, settingsDefaults.headroomThreshold);
    assert.equal(s.connectTimeoutMs, settingsDefaults.connectTimeoutMs);
    assert.deepEqual(s.loadTestAllowedHosts, settingsDefaults.loadTestAllowedHosts);
  });

  it('every contributed command is in the client command list and vice versa', async () => {
    const commands = pkg.contributes.commands as { command: string; category: string }[];
    const source = readFileSync(join(__dirname, '..', '..', 'client', 'src', 'commands.ts'), 'utf8');
    const listed = [...source.matchAll(/'(poolCapacity\.[A-Za-z]+)'/g)].map((m) => m[1]);
    assert.deepEqual(commands.map((c) => c.command).sort(), [...new Set(listed)].sort());
    for (const c of commands) assert.equal(c.category, 'Pool Capacity');
  });
});
