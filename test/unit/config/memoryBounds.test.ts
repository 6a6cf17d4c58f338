/**
 * What the language server keeps and reads stays bounded: the parsed-entry cache replaces an
 * entry's tree on each edit (growth per edit, measured on the heap), configs and settings files
 * past their limits are refused before they are read, and messages quote at most ~100 characters.
 */
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import v8 from 'node:v8';
import vm from 'node:vm';
import { diagnose } from '../../../server/src/core/capacity/rules';
import {
  BLOCK_CACHE_CHARS,
  blockCacheUsage,
  clearBlockCache,
  MAX_CONFIG_CHARS,
  parseConfigDocument,
} from '../../../server/src/core/config/configDocument';
import { ECHO_LIMIT } from '../../../server/src/core/config/secretScrubber';
import {
  loadConfigEnvironment,
  loadConfigFile,
  MAX_SETTINGS_FILE_BYTES,
  readSettingsFile,
  resolveConfig,
  resolveTarget,
} from '../../../server/src/io/config/configFiles';
import { settingsDefaults } from '../../../shared/settings';

v8.setFlagsFromString('--expose-gc');
const gc = vm.runInNewContext('gc') as () => void;

/** A layout-A config of about `lines` lines; the `hooks` entry is the long one, as in real configs. */
function config(lines: number, edit: number): string {
  const head = `memory:
  postgresql:
    project:
      host: localhost
      poolSize: 5
swarm:
  maxAgents: 3
hooks:
`;
  const hooks: string[] = [];
  for (let i = 0; hooks.length < lines; i++)
    hooks.push(`  hook${i}:`, `    command: "run ${i} --rev ${i === 3 ? edit : 0}"`);
  return `${head}${hooks.join('\n')}\n`;
}

function heapAfterGc(): number {
  gc();
  gc();
  return process.memoryUsage().heapUsed;
}

describe('parsed-entry cache', () => {
  before(clearBlockCache);

  it('an edit replaces its entry: no growth per edit, on the heap and in the cache', () => {
    const source = '/ws/.claude-flow/config.yaml';
    parseConfigDocument(config(2000, 0), source);
    const slots = blockCacheUsage().slots;
    const before = heapAfterGc();
    const edits = 60;
    for (let i = 1; i <= edits; i++) parseConfigDocument(config(2000, i), source);
    const perEdit = (heapAfterGc() - before) / edits;
    // Keeping every tree cost ~1.5 MB per edit for this config; one tree per entry costs nothing.
    assert.ok(perEdit < 50_000, `heap grew ${Math.round(perEdit)} bytes per edit`);
    assert.equal(blockCacheUsage().slots, slots);
    assert.ok(blockCacheUsage().chars <= config(2000, edits).length);
  });

  it('many configs together stay within the cache bound', () => {
    for (let i = 0; i < 40; i++) parseConfigDocument(config(2000, i), `/ws${i}/.claude-flow/config.yaml`);
    assert.ok(blockCacheUsage().chars <= BLOCK_CACHE_CHARS, String(blockCacheUsage().chars));
  });

  it('a config beyond the largest supported is not parsed and says so', async () => {
    const huge = `memory:\n  postgresql:\n    project:\n      poolSize: 5\n#${'x'.repeat(MAX_CONFIG_CHARS)}\n`;
    const loaded = await resolveConfig('/x/.claude-flow/config.yaml', huge, {});
    assert.deepEqual(loaded.document.pools, []);
    const found = diagnose(loaded, {}, settingsDefaults);
    assert.deepEqual(
      found.map((d) => [d.code, d.severity]),
      [['config-too-large', 'error']],
    );
    assert.match(
      found[0]!.message,
      /characters long; Pool Capacity checks configs of up to 1048576 characters/,
    );
  });
});

describe('files and echoed values', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'pool-capacity-bounds-'));
    await mkdir(join(dir, '.claude-flow'));
  });
  after(() => rm(dir, { recursive: true, force: true }));

  const pool = (body: string) =>
    parseConfigDocument(`memory:\n  postgresql:\n    project:\n${body.replace(/^/gm, '      ')}\n`).pools[0]!;

  it('a certificate path to a device, a directory or a huge file is a problem, not a read', async () => {
    const big = join(dir, 'big.crt');
    await writeFile(big, Buffer.alloc(MAX_SETTINGS_FILE_BYTES + 1));
    for (const [path, expected] of [
      ['/dev/zero', /sslrootcert: "\/dev\/zero" is not a regular file/],
      [dir, /is not a regular file/],
      [big, /bytes, more than the 1048576 this product reads/],
      [join(dir, 'missing.crt'), /does not exist/],
    ] as const) {
      const r = await resolveTarget(pool(`sslmode: verify-ca\nsslrootcert: ${path}`), {
        PGPASSFILE: '/nonexistent',
      });
      assert.match(r.problems.map((p) => p.message).join('\n'), expected, path);
    }
    assert.throws(() => readSettingsFile('/dev/zero'), /not a regular file/);
    assert.throws(() => readSettingsFile(big), /more than the 1048576 bytes|1048576 this product reads/);
  });

  it('an oversized or special .env is read as none', async () => {
    const envDir = join(dir, 'envs');
    await mkdir(join(envDir, '.claude-flow'), { recursive: true });
    await writeFile(join(envDir, '.env'), `BIG=${'y'.repeat(MAX_SETTINGS_FILE_BYTES)}\n`);
    assert.equal(
      (await loadConfigEnvironment(join(envDir, '.claude-flow', 'config.yaml'), {})).BIG,
      undefined,
    );
    const devDir = join(dir, 'dev');
    await mkdir(join(devDir, '.claude-flow'), { recursive: true });
    await symlink('/dev/zero', join(devDir, '.env'));
    assert.deepEqual(await loadConfigEnvironment(join(devDir, '.claude-flow', 'config.yaml'), {}), {});
  });

  it('a 400 KB value is echoed as its first ~100 characters', async () => {
    const long = 'x'.repeat(400_000);
    const text = `memory:\n  postgresql:\n    project:\n      port: "${long}"\n      poolSize: "${long}"\n`;
    const loaded = await resolveConfig('/x/.claude-flow/config.yaml', text, {});
    const found = diagnose(loaded, {}, settingsDefaults);
    assert.deepEqual(found.map((d) => d.code).sort(), ['invalid-connection-setting', 'invalid-pool-size']);
    for (const d of found) {
      assert.ok(d.message.length < ECHO_LIMIT + 200, `${d.code}: ${d.message.length} characters`);
      assert.match(d.message, /\(400000 characters\)/);
    }
  });

  it('a config file past the limit is refused before it is read whole', async () => {
    const path = join(dir, '.claude-flow', 'config.yaml');
    await writeFile(path, Buffer.alloc(MAX_CONFIG_CHARS * 4 + 1, 0x23));
    await assert.rejects(
      loadConfigFile(path, {}),
      /the config is \d+ bytes; the largest config Pool Capacity reads/,
    );
  });
});
