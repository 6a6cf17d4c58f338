import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { sanitizeSettings, settingsDefaults } from '../../shared/settings';

const pkg = JSON.parse(readFileSync(join(__dirname, '..', '..', 'package.json'), 'utf8'));

describe('settings', () => {
  it('package.json contributes exactly the settings type, with the same defaults', () => {
    const properties = pkg.contributes.configuration.properties as Record<
      string,
      { default: unknown; scope: string }
    >;
    assert.deepEqual(
      Object.keys(properties).sort(),
      Object.keys(settingsDefaults)
        .map((k) => `poolCapacity.${k}`)
        .sort(),
    );
    for (const [key, value] of Object.entries(settingsDefaults)) {
      assert.deepEqual(properties[`poolCapacity.${key}`]!.default, value, key);
      assert.equal(properties[`poolCapacity.${key}`]!.scope, 'resource', key);
    }
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
