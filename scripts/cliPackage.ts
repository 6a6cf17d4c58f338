// `npm run package:cli`: the command-line tool as a package CI installs from a file,
//
//   npm install -g ./pool-capacity-cli-<version>.tgz   ->   pool-capacity on PATH
//
// A generated directory dist/cli-package/ holds only the bundled CLI (no runtime dependencies: esbuild
// put them all in cli.js), a README (the main README's "Command line" section) and the LICENSE;
// `npm pack` turns it into dist/pool-capacity-cli-<version>.tgz. The package is scoped and private:
// it is installed from the tarball, never looked up by name, so nobody else's package can stand in.
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { repoRoot } from '../harness/codeServer';

export const CLI_PACKAGE_NAME = '@pool-capacity/cli';
const packageDir = path.join(repoRoot, 'dist', 'cli-package');

interface PackResult {
  filename: string;
  size: number;
  files: { path: string; size: number }[];
}

/** The README's "## Command line" section, up to the next second-level heading. */
export function commandLineSection(readme: string): string {
  const start = readme.search(/^## Command line/m);
  if (start < 0) throw new Error('README.md has no "## Command line" section for the CLI package');
  const rest = readme.slice(start);
  const end = rest.slice(3).search(/^## /m);
  return (end < 0 ? rest : rest.slice(0, end + 3)).trim();
}

export function buildCliPackage(): { tarball: string } & PackResult {
  const manifest = JSON.parse(fs.readFileSync(path.join(repoRoot, 'package.json'), 'utf8')) as {
    version: string;
    license: string;
  };
  execFileSync(process.execPath, ['esbuild.mjs', '--production'], { cwd: repoRoot, stdio: 'inherit' });
  fs.rmSync(packageDir, { recursive: true, force: true });
  fs.mkdirSync(packageDir, { recursive: true });
  fs.copyFileSync(path.join(repoRoot, 'dist', 'cli.js'), path.join(packageDir, 'cli.js'));
  fs.chmodSync(path.join(packageDir, 'cli.js'), 0o755);
  fs.copyFileSync(path.join(repoRoot, 'LICENSE'), path.join(packageDir, 'LICENSE'));
  const readme = fs.readFileSync(path.join(repoRoot, 'README.md'), 'utf8');
  fs.writeFileSync(
    path.join(packageDir, 'README.md'),
    `# pool-capacity (command line)\n\nChecks the PostgreSQL pool sizes in \`.claude-flow/config.yaml\` against what the live servers allow, and load-tests them. The command-line side of the Pool Capacity VS Code extension.\n\n${commandLineSection(readme)}\n`,
  );
  const cliManifest = {
    name: CLI_PACKAGE_NAME,
    version: manifest.version,
    description: 'pool-capacity: check and load-test the PostgreSQL pool sizes in .claude-flow/config.yaml',
    license: manifest.license,
    // Installed from the tarball only; `npm publish` of a scope we do not own must not happen by accident.
    private: true,
    bin: { 'pool-capacity': 'cli.js' },
    files: ['cli.js'],
    engines: { node: '>=20' },
  };
  fs.writeFileSync(path.join(packageDir, 'package.json'), `${JSON.stringify(cliManifest, null, 2)}\n`);
  const out = execFileSync(
    'npm',
    ['pack', '--json', '--pack-destination', path.join(repoRoot, 'dist'), '--loglevel', 'error'],
    {
      cwd: packageDir,
      encoding: 'utf8',
      env: { ...process.env, npm_config_update_notifier: 'false', npm_config_fund: 'false' },
    },
  );
  const [packed] = JSON.parse(out) as PackResult[];
  if (!packed) throw new Error(`npm pack printed no result: ${out}`);
  return { ...packed, tarball: path.join(repoRoot, 'dist', packed.filename) };
}

if (require.main === module) {
  try {
    const packed = buildCliPackage();
    console.log(`${path.relative(repoRoot, packed.tarball)} (${packed.size} bytes):`);
    for (const file of packed.files) console.log(`  ${file.path} (${file.size} bytes)`);
    console.log(`install it with: npm install -g ./${path.basename(packed.tarball)}`);
  } catch (error) {
    console.error(`could not build the CLI package: ${error instanceof Error ? error.message : error}`);
    process.exit(1);
  }
}
