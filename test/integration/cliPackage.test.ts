/**
 * The CLI as CI installs it: `npm run package:cli`'s tarball, `npm install -g --prefix <tmp>` of that
 * file, then `<tmp>/bin/pool-capacity` run from outside this repository against a real server.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { writePoolConfig } from '../../harness/configFixture';
import { type Cluster, startCluster } from '../../harness/pgCluster';
import { buildCliPackage, CLI_PACKAGE_NAME } from '../../scripts/cliPackage';

const repoRoot = path.resolve(__dirname, '../..');
const PASSWORD = 'cli-Package-Pw-93d';
const { version } = JSON.parse(readFileSync(path.join(repoRoot, 'package.json'), 'utf8')) as {
  version: string;
};

/** Environment of a CI job: no database variables, no npm settings or binaries from this repository. */
function ciEnv(prefix: string): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (/^(PG|RUVECTOR_|SHARED_KNOWLEDGE_|npm_|NODE_OPTIONS)/i.test(key)) continue;
    env[key] = value;
  }
  env.PATH = [path.join(prefix, 'bin'), path.dirname(process.execPath), '/usr/bin', '/bin'].join(':');
  return env;
}

describe('the CLI package (npm pack tarball)', { timeout: 180_000 }, () => {
  let cluster: Cluster;
  let scratch: string;
  let packed: ReturnType<typeof buildCliPackage>;
  before(async () => {
    packed = buildCliPackage();
    console.log(
      `${path.basename(packed.tarball)}: ${packed.size} bytes; ${packed.files.map((f) => `${f.path} (${f.size})`).join(', ')}`,
    );
    cluster = await startCluster({ maxConnections: 20 });
    await cluster.createRole('app', { password: PASSWORD });
    scratch = mkdtempSync(path.join(os.tmpdir(), 'pool-capacity-cli-package-'));
  });
  after(async () => {
    await cluster?.stop();
    if (scratch) rmSync(scratch, { recursive: true, force: true });
  });

  it('holds only the bundled CLI, README, LICENSE and a manifest without dependencies', () => {
    assert.equal(statSync(packed.tarball).size, packed.size);
    assert.deepEqual(packed.files.map((f) => f.path).sort(), [
      'LICENSE',
      'README.md',
      'cli.js',
      'package.json',
    ]);
    const listing = spawnSync('tar', ['-xzOf', packed.tarball, 'package/package.json'], { encoding: 'utf8' });
    assert.equal(listing.status, 0, listing.stderr);
    const manifest = JSON.parse(listing.stdout);
    assert.equal(manifest.name, CLI_PACKAGE_NAME);
    assert.equal(manifest.version, version);
    assert.deepEqual(manifest.bin, { 'pool-capacity': 'cli.js' });
    for (const field of ['dependencies', 'optionalDependencies', 'peerDependencies', 'scripts'])
      assert.equal(manifest[field], undefined, `${field} in the CLI package`);
    const readme = spawnSync('tar', ['-xzOf', packed.tarball, 'package/README.md'], {
      encoding: 'utf8',
    }).stdout;
    assert.match(readme, /npm install -g \.\/pool-capacity-cli-[\d.]+\.tgz/);
    assert.doesNotMatch(readme, /^\s*npx pool-capacity/m);
  });

  it('npm install -g puts pool-capacity on PATH; --version and check run against a real server', () => {
    const prefix = path.join(scratch, 'prefix');
    const job = path.join(scratch, 'job');
    mkdirSync(path.join(job, '.claude-flow'), { recursive: true });
    const env = ciEnv(prefix);
    const install = spawnSync(
      'npm',
      ['install', '-g', '--prefix', prefix, '--offline', '--no-audit', '--no-fund', packed.tarball],
      { cwd: job, env, encoding: 'utf8', timeout: 120_000 },
    );
    assert.equal(install.status, 0, `npm install -g failed:\n${install.stdout}\n${install.stderr}`);
    const bin = path.join(prefix, 'bin', 'pool-capacity');
    const versionRun = spawnSync(bin, ['--version'], { cwd: job, env, encoding: 'utf8', timeout: 30_000 });
    assert.equal(versionRun.status, 0, versionRun.stderr);
    assert.equal(versionRun.stdout.trim(), version);

    writePoolConfig(job, {
      maxAgents: 4,
      env: { APP_DB_PASSWORD: PASSWORD },
      project: { port: cluster.port, poolSize: 40 },
    });
    // On PATH, as CI calls it; the pool is bigger than the server: an error finding and exit 1.
    const check = spawnSync('pool-capacity', ['check'], { cwd: job, env, encoding: 'utf8', timeout: 60_000 });
    assert.equal(check.status, 1, `${check.stdout}\n${check.stderr}`);
    assert.match(check.stdout, /^\.claude-flow\/config\.yaml:\d+:\d+: error pool-exceeds-server /m);
    assert.ok(!check.stdout.includes(PASSWORD) && !check.stderr.includes(PASSWORD), 'password printed');
  });
});
