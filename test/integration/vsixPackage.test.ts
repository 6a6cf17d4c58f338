/**
 * The .vsix a user installs, as built by `npm run package`: what is inside (icon, README images,
 * CHANGELOG; no sources, tests or maps) and the manifest fields the extension page shows.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { before, describe, it } from 'node:test';
import { inflateRawSync } from 'node:zlib';

const repoRoot = path.resolve(__dirname, '../..');
const vsixPath = path.join(repoRoot, 'pool-capacity.vsix');

/** The entries of a zip archive (the .vsix format), read from its central directory. */
function readZip(file: string): Map<string, Buffer> {
  const zip = readFileSync(file);
  const eocd = zip.lastIndexOf(Buffer.from([0x50, 0x4b, 0x05, 0x06]));
  assert.ok(eocd >= 0, `${file} is not a zip archive`);
  const count = zip.readUInt16LE(eocd + 10);
  let at = zip.readUInt32LE(eocd + 16);
  const entries = new Map<string, Buffer>();
  for (let i = 0; i < count; i++) {
    assert.equal(zip.readUInt32LE(at), 0x02014b50, 'bad central directory entry');
    const method = zip.readUInt16LE(at + 10);
    const compressedSize = zip.readUInt32LE(at + 20);
    const nameLength = zip.readUInt16LE(at + 28);
    const extraLength = zip.readUInt16LE(at + 30);
    const commentLength = zip.readUInt16LE(at + 32);
    const localHeader = zip.readUInt32LE(at + 42);
    const name = zip.toString('utf8', at + 46, at + 46 + nameLength);
    const dataStart =
      localHeader + 30 + zip.readUInt16LE(localHeader + 26) + zip.readUInt16LE(localHeader + 28);
    const data = zip.subarray(dataStart, dataStart + compressedSize);
    entries.set(name, method === 8 ? inflateRawSync(data) : Buffer.from(data));
    at += 46 + nameLength + extraLength + commentLength;
  }
  return entries;
}

function pngSize(png: Buffer): { width: number; height: number } {
  assert.equal(png.toString('latin1', 1, 4), 'PNG', 'not a PNG');
  return { width: png.readUInt32BE(16), height: png.readUInt32BE(20) };
}

describe('the packaged extension (pool-capacity.vsix)', { timeout: 180_000 }, () => {
  let entries: Map<string, Buffer>;
  let manifest: Record<string, unknown>;
  let readme: string;
  before(() => {
    const packaged = spawnSync('npm', ['run', 'package', '--silent'], { cwd: repoRoot, encoding: 'utf8' });
    assert.equal(packaged.status, 0, `npm run package failed:\n${packaged.stdout}\n${packaged.stderr}`);
    entries = readZip(vsixPath);
    manifest = JSON.parse(entries.get('extension/package.json')!.toString('utf8'));
    readme = entries.get('extension/readme.md')!.toString('utf8');
    const files = [...entries.keys()].filter((f) => f.startsWith('extension/')).sort();
    console.log(
      `pool-capacity.vsix: ${statSync(vsixPath).size} bytes, ${files.length} files:\n  ${files.join('\n  ')}`,
    );
  });

  it('holds the bundles, the icon, the README with its images inline, CHANGELOG and LICENSE', () => {
    for (const file of [
      'dist/client.js',
      'dist/server.js',
      'dist/cli.js',
      // The capacity dashboard's webview script and styles.
      'dist/dashboard.js',
      'dist/dashboard.css',
      'package.json',
      // vsce stores these two in lower case; the extension page finds them so.
      'readme.md',
      'changelog.md',
      'LICENSE.txt',
      'media/icon.png',
      'syntaxes/pool-capacity-output.tmLanguage.json',
    ]) {
      assert.ok(entries.has(`extension/${file}`), `${file} is missing from the .vsix`);
    }
    // The extension page is a webview that loads images from https: and data: only, and resolves no
    // relative path: the packaged README carries its images inline (scripts/packageReadme.ts).
    const images = [...readme.matchAll(/!\[[^\]]*\]\(([^)]+)\)/g)].map((m) => m[1]!);
    const source = readFileSync(path.join(repoRoot, 'README.md'), 'utf8');
    assert.equal(
      images.length,
      [...source.matchAll(/!\[[^\]]*\]\(/g)].length,
      'an image of README.md is missing',
    );
    assert.ok(images.length >= 1, 'the README shows no image');
    for (const image of images) {
      const inline = /^data:image\/png;base64,([A-Za-z0-9+/=]+)$/.exec(image);
      assert.ok(inline, `README image ${image.slice(0, 60)} is not inlined`);
      assert.ok(pngSize(Buffer.from(inline[1]!, 'base64')).width > 0);
    }
    // Relative links would go nowhere on that page either.
    assert.deepEqual(
      [...readme.matchAll(/\]\(((?!https?:|#|data:)[^)]+)\)/g)].map((m) => m[1]),
      [],
    );
  });

  it('ships no sources, tests, scripts, source maps or dependencies', () => {
    const unwanted = [...entries.keys()].filter((f) =>
      /\.(ts|map|svg|tgz)$|\/(test|tests|scripts|server|client|shared|bench|node_modules|\.run|\.vscode-test)\//.test(
        f,
      ),
    );
    assert.deepEqual(unwanted, []);
  });

  it('has the manifest fields the extension page shows', () => {
    assert.equal(manifest.icon, 'media/icon.png');
    assert.deepEqual(pngSize(entries.get('extension/media/icon.png')!), { width: 128, height: 128 });
    assert.deepEqual([...(manifest.keywords as string[])].sort(), [
      'claude-flow',
      'connection pool',
      'load test',
      'max_connections',
      'patroni',
      'pgbouncer',
      'postgres',
      'postgresql',
    ]);
    assert.match((manifest.galleryBanner as { color: string }).color, /^#[0-9a-f]{6}$/i);
    assert.equal(manifest.repository, undefined, 'no placeholder repository URL');
    assert.doesNotMatch(entries.get('extension/package.json')!.toString('utf8'), /example\.(invalid|com)/);
    assert.match(entries.get('extension/changelog.md')!.toString('utf8'), /^## 0\.1\.0$/m);
  });

  it('its README starts with the product, not the development set-up', () => {
    const firstSection = readme.slice(0, readme.search(/^## /m));
    assert.match(firstSection, /^# Pool Capacity\n/);
    assert.match(firstSection, /!\[[^\]]+\]\(data:image\/png;base64,/);
    const headings = [...readme.matchAll(/^## (.*)$/gm)].map((m) => m[1]!);
    for (const wanted of ['The config it reads', 'In the editor', 'Command line'])
      assert.ok(headings.includes(wanted), `no "## ${wanted}" section`);
    assert.ok(headings.indexOf('Try it from a clone') > headings.indexOf('Command line'));
    assert.doesNotMatch(readme, /bench:start|^## Development|^## Speed/m);
    assert.match(readme, /docs\/development\.md/);
    // Never a bare `npx pool-capacity` a reader could copy: it would fetch a stranger's package.
    assert.doesNotMatch(readme, /^\s*npx pool-capacity/m);
    assert.match(readme, /npm install -g \.\/pool-capacity-cli-[\d.]+\.tgz/);
  });
});
