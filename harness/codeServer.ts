// A real VS Code for tests and `npm start` on machines that cannot download one: code-server from npm,
// installed into its own prefix (.vscode-test/code-server/) so the project's `npm install` stays lean
// and offline-safe. See docs in ../shared/docs/real-vscode.md for why each setting below exists.
//
//   node --import tsx harness/codeServer.ts install   # install (or verify) code-server
//   node --import tsx harness/codeServer.ts start [folder]

import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import { freePort } from './freePort';

/** The newest code-server that declares Node 20 (VS Code 1.100.3); 4.103+ need Node 22. */
export const CODE_SERVER_VERSION = '4.100.3';

export const repoRoot = path.resolve(__dirname, '..');
export const codeServerPrefix = path.join(repoRoot, '.vscode-test', 'code-server');
const codeServerPackage = path.join(codeServerPrefix, 'node_modules', 'code-server');
const codeServerEntry = path.join(codeServerPackage, 'out', 'node', 'entry.js');
const installedMarker = path.join(codeServerPrefix, 'installed.json');

// @vscode/ripgrep (a dependency of VS Code's server) downloads ripgrep from GitHub unless it finds this
// tarball in its cache; these names are what code-server 4.100.3's @vscode/ripgrep looks for.
const ripgrepCacheDirName = 'vscode-ripgrep-cache-1.15.11';
const ripgrepTarballName = 'ripgrep-v13.0.0-10-x86_64-unknown-linux-musl.tar.gz';
const systemRipgrep = '/usr/bin/rg';

// npm 11 skips the install scripts of any dependency its allowScripts policy does not list, and rejects
// --allow-scripts (as a flag or npm_config_ env) in project-scoped installs. code-server's postinstall
// runs nested `npm install`s in lib/vscode and lib/vscode/extensions, separate projects with no policy
// of their own. So: install with scripts off, give each nested project an .npmrc with its policy, then
// `npm rebuild` runs the scripts (code-server's postinstall, and with it the nested installs).
const prefixInstallScripts = ['code-server', 'argon2'];
const nestedInstallScripts: Record<string, string[]> = {
  'lib/vscode': [
    '@parcel/watcher',
    '@vscode/deviceid',
    '@vscode/ripgrep',
    '@vscode/spdlog',
    '@vscode/windows-ca-certs',
    '@vscode/windows-process-tree',
    '@vscode/windows-registry',
    'kerberos',
    'native-watchdog',
    'node-pty',
  ],
  'lib/vscode/extensions': ['@parcel/watcher', 'esbuild'],
};

export interface InstallOptions {
  /** Print npm's output while installing (the default prints only a one-line summary). */
  verbose?: boolean;
}

function log(message: string): void {
  process.stderr.write(`[code-server] ${message}\n`);
}

function readInstalledVersion(): string | undefined {
  try {
    const marker = JSON.parse(fs.readFileSync(installedMarker, 'utf8')) as { version?: string };
    if (!fs.existsSync(codeServerEntry)) return undefined;
    return marker.version;
  } catch {
    return undefined;
  }
}

function requireRipgrep(): void {
  if (!fs.existsSync(systemRipgrep)) {
    throw new Error(
      `code-server needs ripgrep, and this machine cannot download it from GitHub: ${systemRipgrep} is missing. ` +
        'Install it with `apt-get install ripgrep` (as root) and run again.',
    );
  }
}

/** Builds the tarball @vscode/ripgrep would download, holding Debian's rg, in `<tmpDir>/<cache dir>/`. */
function seedRipgrepCache(tmpDir: string): void {
  const cacheDir = path.join(tmpDir, ripgrepCacheDirName);
  const tarball = path.join(cacheDir, ripgrepTarballName);
  if (fs.existsSync(tarball)) return;
  fs.mkdirSync(cacheDir, { recursive: true });
  const staging = fs.mkdtempSync(path.join(tmpDir, 'rg-'));
  try {
    fs.copyFileSync(systemRipgrep, path.join(staging, 'rg'));
    fs.chmodSync(path.join(staging, 'rg'), 0o755);
    execFileSync('tar', ['-czf', tarball, '-C', staging, 'rg']);
  } finally {
    fs.rmSync(staging, { recursive: true, force: true });
  }
}

function installEnv(tmpDir: string): NodeJS.ProcessEnv {
  return {
    ...process.env,
    // code-server's postinstall refuses to run as root without this.
    npm_config_unsafe_perm: 'true',
    // node-gyp uses Debian's headers in /usr/include/node instead of downloading them.
    npm_config_nodedir: '/usr',
    // node-pty's install script runs `npx node-gyp`, which would otherwise prompt.
    npm_config_yes: 'true',
    npm_config_audit: 'false',
    npm_config_fund: 'false',
    npm_config_update_notifier: 'false',
    TMPDIR: tmpDir,
  };
}

/** Runs `code-server --version` and returns the version it reports (e.g. "4.100.3"). */
function codeServerVersion(tmpDir: string): string {
  const out = execFileSync(process.execPath, [codeServerEntry, '--version'], {
    encoding: 'utf8',
    env: { ...process.env, HOME: tmpDir, XDG_CONFIG_HOME: tmpDir, XDG_DATA_HOME: tmpDir, TMPDIR: tmpDir },
    timeout: 60_000,
  });
  // Log lines may come first; the answer is "4.100.3 <commit> with Code 1.100.3".
  return /^(\d+\.\d+\.\d+) [0-9a-f]{40}/m.exec(out)?.[1] ?? out.trim();
}

/**
 * Installs code-server into `.vscode-test/code-server/` unless that exact version is already there.
 * Takes about 40 s the first time (native modules are built from source) and milliseconds afterwards.
 * Safe to call from several processes at once: a lock directory serialises the install.
 */
export async function ensureCodeServer(options: InstallOptions = {}): Promise<string> {
  if (readInstalledVersion() === CODE_SERVER_VERSION) return codeServerEntry;
  fs.mkdirSync(codeServerPrefix, { recursive: true });
  const release = await acquireLock(path.join(codeServerPrefix, '.install-lock'));
  try {
    if (readInstalledVersion() === CODE_SERVER_VERSION) return codeServerEntry;
    requireRipgrep();
    const started = Date.now();
    log(
      `installing code-server@${CODE_SERVER_VERSION} into ${path.relative(repoRoot, codeServerPrefix)}/ ...`,
    );
    fs.rmSync(installedMarker, { force: true });
    const tmpDir = path.join(codeServerPrefix, 'tmp');
    fs.mkdirSync(tmpDir, { recursive: true });
    seedRipgrepCache(tmpDir);
    // A package.json of its own makes the prefix a project, so npm honours its allowScripts and never
    // climbs up to the extension's package.json.
    const manifest = {
      name: 'pool-capacity-code-server',
      private: true,
      description: 'code-server for Pool Capacity tests (written by harness/codeServer.ts)',
      dependencies: { 'code-server': CODE_SERVER_VERSION },
      allowScripts: Object.fromEntries(prefixInstallScripts.map((name) => [name, true])),
    };
    fs.writeFileSync(path.join(codeServerPrefix, 'package.json'), `${JSON.stringify(manifest, null, 2)}\n`);
    const npmLog = path.join(codeServerPrefix, 'install.log');
    fs.writeFileSync(npmLog, '');
    const env = installEnv(tmpDir);
    await runNpm(['install', '--ignore-scripts', '--no-audit', '--no-fund'], env, npmLog, options.verbose);
    for (const [dir, allowed] of Object.entries(nestedInstallScripts)) {
      const project = path.join(codeServerPackage, dir);
      fs.writeFileSync(path.join(project, '.npmrc'), `allow-scripts=${allowed.join(',')}\n`);
    }
    await runNpm(['rebuild', '--foreground-scripts'], env, npmLog, options.verbose);
    verifyInstall(npmLog);
    const version = codeServerVersion(tmpDir);
    if (version !== CODE_SERVER_VERSION) {
      throw new Error(`installed code-server reports version "${version}", expected ${CODE_SERVER_VERSION}`);
    }
    fs.writeFileSync(
      installedMarker,
      `${JSON.stringify({ version, installedAt: new Date().toISOString() })}\n`,
    );
    log(`installed code-server ${version} in ${((Date.now() - started) / 1000).toFixed(1)} s`);
    return codeServerEntry;
  } finally {
    release();
  }
}

async function runNpm(args: string[], env: NodeJS.ProcessEnv, logFile: string, verbose?: boolean) {
  const output = verbose ? 'inherit' : fs.openSync(logFile, 'a');
  try {
    const code = await new Promise<number | null>((resolve, reject) => {
      const child = spawn('npm', args, { cwd: codeServerPrefix, env, stdio: ['ignore', output, output] });
      child.on('error', reject);
      child.on('exit', resolve);
    });
    if (code !== 0) {
      const cause = verbose ? undefined : installFailureCause(fs.readFileSync(logFile, 'utf8'));
      throw new Error(
        cause
          ? `code-server's install failed: ${cause.line} (${logFile}:${cause.lineNumber})${cause.hint ? `; ${cause.hint}` : ''}`
          : `\`npm ${args.join(' ')}\` for code-server failed (exit ${code}); see ${logFile}`,
      );
    }
  } finally {
    if (typeof output === 'number') fs.closeSync(output);
  }
}

/** The line of an npm/node-gyp log that names why it failed, with a hint when we know the fix. */
export interface InstallFailureCause {
  line: string;
  /** 1-based. */
  lineNumber: number;
  hint?: string;
}

// Most telling first: a compiler's "fatal error" names the missing header; node-gyp's own errors name a
// missing tool; npm's last specific error line is the fallback. npm's summary lines ("command failed",
// "A complete log ...", the paths) say nothing about the cause.
const causePatterns = [
  /\S*:\d+:\d+: fatal error: .*/,
  /\S*:\d+:\d+: error: .*/,
  /\bsh: \d+: \S+: not found/,
  /gyp ERR! (?:stack Error|find Python|configure error).*/,
];
const npmSummary =
  /^npm (?:error|ERR!) (?:code |path |command |A complete log|signal |errno |$|\s*$|gyp ERR! (?:cwd|node -v|node-gyp -v|not ok|System|command))/;

const missingHeaderHints: [RegExp, string][] = [
  [/gssapi|krb5/, 'install the Debian package libkrb5-dev (as root: apt-get install -y libkrb5-dev)'],
  [/not found: make|make: not found/, 'install make (apt-get install -y make)'],
  [/find Python|python.*not found/i, 'install python3 (apt-get install -y python3)'],
  [/g\+\+|c\+\+: not found|cc: not found/, 'install g++ (apt-get install -y g++)'],
];

export function installFailureCause(log: string): InstallFailureCause | undefined {
  const lines = log.split('\n');
  for (const pattern of causePatterns) {
    const index = lines.findIndex((l) => pattern.test(l));
    if (index >= 0) {
      const line = pattern.exec(lines[index]!)![0].trim();
      const hint = missingHeaderHints.find(([p]) => p.test(line))?.[1];
      return { line, lineNumber: index + 1, hint };
    }
  }
  for (let i = lines.length - 1; i >= 0; i--) {
    const l = lines[i]!.trimEnd();
    if (/^npm (?:error|ERR!)/.test(l) && !npmSummary.test(l)) return { line: l, lineNumber: i + 1 };
  }
  return undefined;
}

/** The install "succeeds" even when npm skipped a script; check the pieces VS Code's server needs. */
function verifyInstall(npmLog: string): void {
  const vscodeModules = path.join(codeServerPackage, 'lib', 'vscode', 'node_modules');
  const required = [
    path.join(vscodeModules, '@vscode', 'ripgrep', 'bin', 'rg'),
    path.join(vscodeModules, 'node-pty', 'build', 'Release', 'pty.node'),
    path.join(vscodeModules, '@vscode', 'spdlog', 'build', 'Release', 'spdlog.node'),
  ];
  const missing = required.filter((file) => !fs.existsSync(file));
  if (missing.length > 0) {
    const cause = installFailureCause(fs.readFileSync(npmLog, 'utf8'));
    throw new Error(
      `code-server's install scripts did not complete (missing ${missing.map((f) => path.relative(codeServerPackage, f)).join(', ')})` +
        (cause
          ? `: ${cause.line} (${npmLog}:${cause.lineNumber})${cause.hint ? `; ${cause.hint}` : ''}`
          : `; see ${npmLog}`),
    );
  }
}

async function acquireLock(lockDir: string): Promise<() => void> {
  const deadline = Date.now() + 10 * 60_000;
  for (;;) {
    try {
      fs.mkdirSync(lockDir);
      fs.writeFileSync(path.join(lockDir, 'pid'), String(process.pid));
      return () => fs.rmSync(lockDir, { recursive: true, force: true });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      const holder = Number(fs.readFileSync(path.join(lockDir, 'pid'), { encoding: 'utf8', flag: 'a+' }));
      if (!holder || !isAlive(holder)) {
        fs.rmSync(lockDir, { recursive: true, force: true });
        continue;
      }
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${lockDir} (held by pid ${holder})`);
      await delay(500);
    }
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** The directories one code-server instance writes to. */
export interface CodeServerDirs {
  /** Everything below is inside this directory; removed on stop unless `keepRunDir`. */
  runDir: string;
  userDataDir: string;
  extensionsDir: string;
}

export interface StartOptions {
  /** Run in these directories (from `createRunDir`, e.g. after `installVsix`); removed on stop too. */
  dirs?: CodeServerDirs;
  /** Folder the workbench opens by default (also usable via `?folder=` in the URL). */
  workspace?: string;
  /** Defaults to `<runDir>/extensions`. Pass the directory `installVsix` installed into. */
  extensionsDir?: string;
  /** Defaults to `<runDir>/user-data`. Pass the directory `installVsix` used. */
  userDataDir?: string;
  /** Leave workspace trust on (for restricted-mode tests); by default it is disabled. */
  trust?: boolean;
  /** Extra environment for code-server; the extension host inherits it. */
  env?: Record<string, string | undefined>;
  /** Extra user settings merged over the defaults. */
  settings?: Record<string, unknown>;
  /** Where the run directory goes; defaults to `.run/`. */
  runRoot?: string;
  /** Keep the run directory (logs, user data) after stop. */
  keepRunDir?: boolean;
  /** How long to wait for `/healthz`; default 30 s. */
  startTimeoutMs?: number;
  /** Address to listen on; default 127.0.0.1. A non-loopback address requires `password`. */
  host?: string;
  /** Port to listen on; default a free one. */
  port?: number;
  /** Turns on code-server's password login (passed in its environment, never on the command line or in a file). */
  password?: string;
}

/** Loopback addresses: only these may serve the workbench without a password. */
export function isLoopbackHost(host: string): boolean {
  const bare = host.replace(/^\[(.*)\]$/, '$1').toLowerCase();
  return bare === 'localhost' || bare === '::1' || /^127\.\d+\.\d+\.\d+$/.test(bare);
}

/** Where to reach a server listening on `host` from this machine (a wildcard address means any). */
function reachableHost(host: string): string {
  const bare = host.replace(/^\[(.*)\]$/, '$1');
  if (bare === '0.0.0.0') return '127.0.0.1';
  if (bare === '::') return '::1';
  return bare;
}

function urlHost(host: string): string {
  return host.includes(':') && !host.startsWith('[') ? `[${host}]` : host;
}

export interface RunningCodeServer {
  url: string;
  port: number;
  pid: number;
  dirs: CodeServerDirs;
  /** code-server's own stdout/stderr. */
  logFile: string;
  /** Kills the whole process group and waits until the port is closed. Idempotent. */
  stop(): Promise<void>;
}

/** Creates a run directory with the layout code-server and `installVsix` expect. */
export function createRunDir(runRoot = path.join(repoRoot, '.run'), label = 'code-server'): CodeServerDirs {
  fs.mkdirSync(runRoot, { recursive: true });
  const runDir = fs.mkdtempSync(path.join(runRoot, `${label}-`));
  const dirs: CodeServerDirs = {
    runDir,
    userDataDir: path.join(runDir, 'user-data'),
    extensionsDir: path.join(runDir, 'extensions'),
  };
  for (const dir of ['home', 'config', 'data', 'cache', 'tmp']) fs.mkdirSync(path.join(runDir, dir));
  fs.mkdirSync(dirs.extensionsDir);
  fs.mkdirSync(path.join(dirs.userDataDir, 'User'), { recursive: true });
  return dirs;
}

/** HOME, XDG_* and TMPDIR inside the run directory, so nothing lands in the real home or /tmp. */
function isolatedEnv(runDir: string, extra: Record<string, string | undefined> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    HOME: path.join(runDir, 'home'),
    XDG_CONFIG_HOME: path.join(runDir, 'config'),
    XDG_DATA_HOME: path.join(runDir, 'data'),
    XDG_CACHE_HOME: path.join(runDir, 'cache'),
    TMPDIR: path.join(runDir, 'tmp'),
    ...extra,
  };
  // A VS Code terminal running this script would otherwise leak its IPC hooks into code-server.
  for (const name of Object.keys(env)) {
    if (name.startsWith('VSCODE_') && !(name in extra)) delete env[name];
  }
  return env;
}

function isListening(port: number, host = '127.0.0.1'): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host, port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

/** Starts code-server in its own process group and resolves once `/healthz` answers 200. */
export async function startCodeServer(options: StartOptions = {}): Promise<RunningCodeServer> {
  const entry = await ensureCodeServer();
  const dirs = options.dirs ? { ...options.dirs } : createRunDir(options.runRoot);
  if (options.userDataDir) dirs.userDataDir = options.userDataDir;
  if (options.extensionsDir) dirs.extensionsDir = options.extensionsDir;
  writeUserSettings(dirs.userDataDir, {
    'workbench.startupEditor': 'none',
    'workbench.tips.enabled': false,
    'telemetry.telemetryLevel': 'off',
    'extensions.autoCheckUpdates': false,
    'extensions.autoUpdate': false,
    'update.mode': 'none',
    // Workspaces under .run/ sit inside this repository: no "open the parent repository?" toast.
    'git.openRepositoryInParentFolders': 'never',
    // Restricted-mode tests need the untrusted window without a modal in the way.
    'security.workspace.trust.startupPrompt': 'never',
    'security.workspace.trust.banner': 'never',
    // Ports other programs on the machine open are none of our business: no forwarding toasts.
    'remote.autoForwardPorts': false,
    ...options.settings,
  });
  const host = options.host ?? '127.0.0.1';
  if (!isLoopbackHost(host) && !options.password) {
    throw new Error(`code-server on ${host} (not loopback) needs a password: refusing to serve it open`);
  }
  const auth = options.password ? 'password' : 'none';
  const configFile = path.join(dirs.runDir, 'config.yaml');
  fs.writeFileSync(configFile, `auth: ${auth}\ncert: false\n`);
  const logFile = path.join(dirs.runDir, 'code-server.log');
  const port = options.port ?? (await freePort());
  const args = [
    entry,
    '--config',
    configFile,
    '--bind-addr',
    `${urlHost(host)}:${port}`,
    '--auth',
    auth,
    '--user-data-dir',
    dirs.userDataDir,
    '--extensions-dir',
    dirs.extensionsDir,
    '--disable-telemetry',
    '--disable-update-check',
    '--disable-getting-started-override',
    '--ignore-last-opened',
  ];
  if (!options.trust) args.push('--disable-workspace-trust');
  if (options.workspace) args.push(options.workspace);

  const out = fs.openSync(logFile, 'a');
  // detached = setsid(): code-server, its extension hosts, the language server and anything they spawn
  // share one process group that stop() signals as a whole.
  const child = spawn(process.execPath, args, {
    cwd: dirs.runDir,
    env: isolatedEnv(dirs.runDir, { ...options.env, PASSWORD: options.password }),
    detached: true,
    stdio: ['ignore', out, out],
  });
  fs.closeSync(out);
  const pid = child.pid;
  if (pid === undefined) throw new Error('could not spawn code-server');
  let exited = false;
  const exitedPromise = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.once('exit', () => {
    exited = true;
  });

  let stopped = false;
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    await killGroup(child, pid, exitedPromise);
    if (await isListening(port, reachableHost(host)))
      throw new Error(`code-server stopped but ${host}:${port} is still listening`);
    if (!options.keepRunDir) fs.rmSync(dirs.runDir, { recursive: true, force: true });
  };

  const url = `http://${urlHost(reachableHost(host))}:${port}`;
  const deadline = Date.now() + (options.startTimeoutMs ?? 30_000);
  for (;;) {
    if (exited) {
      const tail = readTail(logFile);
      await stop().catch(() => {});
      throw new Error(`code-server exited before it was ready; its log ends:\n${tail}`);
    }
    if (await healthy(url)) break;
    if (Date.now() > deadline) {
      const tail = readTail(logFile);
      await stop().catch(() => {});
      throw new Error(
        `code-server did not answer ${url}/healthz within the deadline; its log ends:\n${tail}`,
      );
    }
    await delay(100);
  }
  return { url, port, pid, dirs, logFile, stop };
}

function writeUserSettings(userDataDir: string, settings: Record<string, unknown>): void {
  fs.mkdirSync(path.join(userDataDir, 'User'), { recursive: true });
  const file = path.join(userDataDir, 'User', 'settings.json');
  let existing: Record<string, unknown> = {};
  try {
    existing = JSON.parse(fs.readFileSync(file, 'utf8')) as Record<string, unknown>;
  } catch {}
  fs.writeFileSync(file, `${JSON.stringify({ ...existing, ...settings }, null, 2)}\n`);
}

async function healthy(url: string): Promise<boolean> {
  try {
    const response = await fetch(`${url}/healthz`, { signal: AbortSignal.timeout(1000) });
    return response.status === 200;
  } catch {
    return false;
  }
}

async function killGroup(child: ChildProcess, pid: number, exited: Promise<void>): Promise<void> {
  const signalGroup = (signal: NodeJS.Signals) => {
    try {
      process.kill(-pid, signal);
    } catch {}
  };
  if (child.exitCode === null && child.signalCode === null) {
    signalGroup('SIGTERM');
    const gone = await Promise.race([exited.then(() => true), delay(5000).then(() => false)]);
    if (!gone) signalGroup('SIGKILL');
    await Promise.race([exited, delay(2000)]);
  }
  // The leader can exit before its children (extension host, language server): sweep the group.
  for (let i = 0; i < 50 && groupAlive(pid); i++) {
    signalGroup(i < 20 ? 'SIGTERM' : 'SIGKILL');
    await delay(100);
  }
}

function groupAlive(pgid: number): boolean {
  try {
    process.kill(-pgid, 0);
    return true;
  } catch {
    return false;
  }
}

function readTail(file: string, lines = 30): string {
  try {
    return fs.readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '(no log)';
  }
}

/**
 * Installs a packaged extension with `code-server --install-extension`, into the directories a later
 * `startCodeServer({ extensionsDir, userDataDir })` uses.
 */
export async function installVsix(vsixPath: string, dirs: CodeServerDirs): Promise<void> {
  const entry = await ensureCodeServer();
  const output = execFileSync(
    process.execPath,
    [
      entry,
      '--user-data-dir',
      dirs.userDataDir,
      '--extensions-dir',
      dirs.extensionsDir,
      '--install-extension',
      path.resolve(vsixPath),
      '--force',
    ],
    { encoding: 'utf8', env: isolatedEnv(dirs.runDir), timeout: 120_000, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  if (!/successfully installed/i.test(output)) {
    throw new Error(`code-server --install-extension ${vsixPath} did not report success:\n${output}`);
  }
}

async function main(): Promise<void> {
  const [command = 'install', folder] = process.argv.slice(2);
  if (command === 'install') {
    const started = Date.now();
    await ensureCodeServer({ verbose: process.argv.includes('--verbose') });
    log(`code-server ${CODE_SERVER_VERSION} ready (${Date.now() - started} ms)`);
  } else if (command === 'start') {
    const started = Date.now();
    const server = await startCodeServer({ workspace: folder && path.resolve(folder) });
    log(`${server.url}/ healthy after ${Date.now() - started} ms; Ctrl-C stops it`);
    const shutdown = () => {
      server.stop().then(
        () => process.exit(0),
        (error) => {
          console.error(error);
          process.exit(1);
        },
      );
    };
    process.once('SIGINT', shutdown);
    process.once('SIGTERM', shutdown);
  } else {
    throw new Error(`unknown command "${command}" (use install | start [folder])`);
  }
}

if (require.main === module) {
  main().catch((error) => {
    console.error(error instanceof Error ? error.message : error);
    process.exit(1);
  });
}
