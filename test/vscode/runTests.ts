// `npm run test:vscode`: runs the mocha suites in test/vscode/suite inside a real VS Code's extension
// host, against a throwaway PostgreSQL and fixture workspaces.
//
// Two hosts, one test module (out/test/vscode/suite/index.js):
//   electron     @vscode/test-electron downloads VS Code and runs it (needs the internet and a display)
//   code-server  code-server from npm + Debian Chromium via playwright-core (works offline); the suite is
//                started through the workbench's `payload` URL, exactly as test-electron's CLI flags do
// Chosen automatically (can update.code.visualstudio.com be reached within 3 s?), or forced with
// `--host=code-server|electron` or POOL_CAPACITY_VSCODE_HOST. `--grep=<text>` filters tests;
// `--skip-build` reuses dist/ as it is.
import { spawnSync } from 'node:child_process';
import * as dns from 'node:dns/promises';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as esbuild from 'esbuild';
import { launchBrowser } from '../../harness/browser';
import { ensureCodeServer, repoRoot, startCodeServer } from '../../harness/codeServer';
import { type FixtureDatabase, startFixtureDatabase, writeWorkspace } from '../../harness/fixtures';
import { type PatroniFixture, startPatroniFixture, writePatroniWorkspace } from './patroniFixture';

type Host = 'code-server' | 'electron';

const suiteSource = path.join(repoRoot, 'test', 'vscode', 'suite');
const suiteOut = path.join(repoRoot, 'out', 'test', 'vscode', 'suite');
const testModule = path.join(suiteOut, 'index.js');
/** The whole run, build included, must finish within this. */
const overallDeadlineMs = Number(process.env.POOL_CAPACITY_VSCODE_DEADLINE_MS ?? 5 * 60_000);

/** One VS Code window running the test module over one fixture workspace. */
interface SuiteRun {
  name: 'main' | 'restricted' | 'patroni';
  /** Workspace trust on: the window opens restricted. */
  trust: boolean;
}
const runs: SuiteRun[] = [
  { name: 'main', trust: false },
  { name: 'restricted', trust: true },
  // A workspace on a real Patroni cluster (started for this window only): the status bar follows the leader.
  { name: 'patroni', trust: false },
];

function argValue(name: string): string | undefined {
  const prefix = `--${name}=`;
  return process.argv.find((arg) => arg.startsWith(prefix))?.slice(prefix.length);
}

/** Stops whatever is running (browser, code-server) when a signal cuts the run short. */
const cleanups = new Set<() => Promise<void>>();

function say(line: string): void {
  process.stdout.write(`[test:vscode] ${line}\n`);
}

async function chooseHost(): Promise<{ host: Host; why: string }> {
  const forced = argValue('host') ?? process.env.POOL_CAPACITY_VSCODE_HOST;
  if (forced) {
    if (forced !== 'code-server' && forced !== 'electron') {
      throw new Error(`--host must be code-server or electron, not "${forced}"`);
    }
    return { host: forced, why: 'forced' };
  }
  const url = 'https://update.code.visualstudio.com/api/releases/stable';
  try {
    await dns.lookup('update.code.visualstudio.com');
    const response = await fetch(url, { method: 'HEAD', signal: AbortSignal.timeout(3000) });
    if (response.status < 500) return { host: 'electron', why: `${url} answered ${response.status}` };
    return { host: 'code-server', why: `${url} answered ${response.status}` };
  } catch (error) {
    const reason = (error as { cause?: { code?: string } }).cause?.code ?? (error as Error).message;
    return { host: 'code-server', why: `VS Code cannot be downloaded here (${reason})` };
  }
}

function npmRunBuild(): void {
  const started = Date.now();
  const result = spawnSync('npm', ['run', 'build', '--silent'], { cwd: repoRoot, stdio: 'inherit' });
  if (result.status !== 0) throw new Error(`npm run build failed (exit ${result.status})`);
  say(`extension built (${Date.now() - started} ms)`);
}

async function buildSuite(): Promise<void> {
  const started = Date.now();
  fs.rmSync(suiteOut, { recursive: true, force: true });
  const entryPoints = fs
    .readdirSync(suiteSource)
    .filter((file) => file.endsWith('.ts'))
    .map((file) => path.join(suiteSource, file));
  await esbuild.build({
    entryPoints,
    outdir: suiteOut,
    bundle: true,
    platform: 'node',
    target: 'node20',
    format: 'cjs',
    sourcemap: 'inline',
    logLevel: 'warning',
    // vscode comes from the extension host; mocha and pg resolve from the repo's node_modules.
    packages: 'external',
  });
  say(
    `suite built: ${entryPoints.length} files -> ${path.relative(repoRoot, suiteOut)}/ (${Date.now() - started} ms)`,
  );
}

/** Runs one suite in code-server + Chromium; resolves to the test module's exit code. */
async function runInCodeServer(run: SuiteRun, folder: string, env: Record<string, string>, deadline: number) {
  const started = Date.now();
  const server = await startCodeServer({ workspace: folder, trust: run.trust, env });
  cleanups.add(server.stop);
  say(`${run.name}: code-server ${server.url} healthy (${Date.now() - started} ms)`);
  const browser = await launchBrowser().catch(async (error) => {
    await server.stop();
    throw error;
  });
  cleanups.add(browser.close);
  try {
    const { page } = browser;
    let settle: (code: number) => void = () => {};
    const exited = new Promise<number>((resolve) => {
      settle = resolve;
    });
    await page.exposeFunction('codeAutomationExit', (code: number) => {
      settle(code);
    });
    await page.exposeFunction('codeAutomationLog', (level: string, args: unknown) => {
      const message = Array.isArray(args) ? args.map(String).join(' ') : String(args);
      // The marketplace (open-vsx.org) is unreachable offline and that is harmless.
      if ((level === 'error' || level === 'warn') && !message.includes('open-vsx.org')) {
        process.stdout.write(`[vscode ${level}] ${message}\n`);
      }
    });
    page.on('console', (message) => relayConsole(message.type(), message.text()));
    page.on('pageerror', (error) => process.stdout.write(`[page error] ${error.message}\n`));
    const authority = `127.0.0.1:${server.port}`;
    const payload = [
      ['extensionDevelopmentPath', `vscode-remote://${authority}${repoRoot}`],
      ['extensionTestsPath', `vscode-remote://${authority}${testModule}`],
    ];
    const url = `${server.url}/?folder=${encodeURIComponent(folder)}&payload=${encodeURIComponent(JSON.stringify(payload))}`;
    await page.goto(url);
    const remaining = deadline - Date.now();
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<'timeout'>((resolve) => {
      timer = setTimeout(() => resolve('timeout'), Math.max(0, remaining));
    });
    const outcome = await Promise.race([exited, timedOut]);
    clearTimeout(timer);
    if (outcome === 'timeout') {
      const shot = path.join(repoRoot, 'test-results', 'vscode', `${run.name}-timeout.png`);
      fs.mkdirSync(path.dirname(shot), { recursive: true });
      await page.screenshot({ path: shot }).catch(() => {});
      throw new Error(
        `${run.name}: the test module did not finish before the ${overallDeadlineMs / 1000} s deadline ` +
          `(no codeAutomationExit); screenshot ${path.relative(repoRoot, shot)}, code-server log ${server.logFile}`,
      );
    }
    say(`${run.name}: test module exited with ${outcome} (${Date.now() - started} ms)`);
    return outcome;
  } finally {
    await browser.close();
    await server.stop();
    cleanups.delete(browser.close);
    cleanups.delete(server.stop);
  }
}

// Workbench and extension host logs reach the page console as "%c INFO", "color: ...", format, ...args;
// Playwright's text() joins those unformatted. The suite's index.ts formats each line itself and marks
// it, so lines are found by their marker and passed through as they are.
const suiteLineMarker = '\u27e6suite\u27e7 ';
const debugConsole = process.env.POOL_CAPACITY_DEBUG_CONSOLE === '1';
function relayConsole(type: string, text: string): void {
  const at = text.indexOf(suiteLineMarker);
  if (at >= 0) process.stdout.write(`${text.slice(at + suiteLineMarker.length)}\n`);
  else if (debugConsole)
    process.stdout.write(`[console ${type} +${Math.round(performance.now())}ms] ${text}\n`);
}

async function runInElectron(run: SuiteRun, folder: string, env: Record<string, string>) {
  // Loaded lazily: only this host needs it.
  const { runTests } = await import('@vscode/test-electron');
  const launchArgs = [folder, '--disable-extensions', '--skip-welcome', '--skip-release-notes'];
  if (!run.trust) launchArgs.push('--disable-workspace-trust');
  try {
    await runTests({
      extensionDevelopmentPath: repoRoot,
      extensionTestsPath: testModule,
      extensionTestsEnv: env,
      launchArgs,
    });
    return 0;
  } catch (error) {
    say(`${run.name}: ${(error as Error).message}`);
    return 1;
  }
}

async function main(): Promise<number> {
  const started = Date.now();
  const deadline = started + overallDeadlineMs;
  const { host, why } = await chooseHost();
  say(`host: ${host} (${why})`);
  if (process.argv.includes('--skip-build')) say('--skip-build: using dist/ as it is');
  else npmRunBuild();
  await buildSuite();
  if (host === 'code-server') await ensureCodeServer();

  const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'pool-capacity-vscode-'));
  let db: FixtureDatabase | undefined;
  let patroni: PatroniFixture | undefined;
  const failures: string[] = [];
  const onSignal = (signal: NodeJS.Signals) => {
    say(`${signal}: stopping`);
    // code-server runs in its own process group, so it must be stopped explicitly; pgCluster's own
    // exit hook stops PostgreSQL.
    Promise.allSettled([...cleanups].map((stop) => stop()))
      .then(() => patroni?.stop())
      .then(() => db?.stop())
      .finally(() => {
        fs.rmSync(scratch, { recursive: true, force: true });
        process.exit(130);
      });
  };
  // `on`, not `once`: the PostgreSQL harness re-raises a signal nobody else listens for.
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  try {
    db = await startFixtureDatabase();
    say(`PostgreSQL on ${db.info.host}:${db.info.port}, max_connections=${db.info.maxConnections}`);
    const grep = argValue('grep');
    for (const run of runs) {
      if (run.name === 'patroni' && grep && !/patroni/i.test(grep)) continue;
      if (run.name === 'patroni') {
        patroni = await startPatroniFixture();
        say(`Patroni cluster: REST API ${patroni.info.apiHosts.join(', ')}`);
      }
      const folder =
        run.name === 'patroni' && patroni
          ? writePatroniWorkspace(scratch, run.name, patroni.info)
          : writeWorkspace(scratch, run.name, db.info);
      const env: Record<string, string> = {
        ...db.env(),
        ...patroni?.env(),
        POOL_CAPACITY_TEST_SUITE: run.name,
        ...(grep ? { POOL_CAPACITY_TEST_GREP: grep } : {}),
      };
      const code =
        host === 'code-server'
          ? await runInCodeServer(run, folder, env, deadline)
          : await runInElectron(run, folder, env);
      if (code !== 0) failures.push(`${run.name} suite: test module exited with ${code}`);
    }
  } catch (error) {
    failures.push((error as Error).message);
  } finally {
    await patroni?.stop();
    await db?.stop();
    fs.rmSync(scratch, { recursive: true, force: true });
  }
  const seconds = ((Date.now() - started) / 1000).toFixed(1);
  if (failures.length > 0) {
    say(`FAILED after ${seconds} s:\n  ${failures.join('\n  ')}`);
    return 1;
  }
  say(`all suites passed on ${host} in ${seconds} s`);
  return 0;
}

main().then(
  (code) => process.exit(code),
  (error) => {
    say(`FAILED: ${error instanceof Error ? error.stack : error}`);
    process.exit(1);
  },
);
