/**
 * The browser end-to-end tests' common ground: the packaged pool-capacity.vsix (built unless
 * `--skip-package` or POOL_CAPACITY_E2E_SKIP_PACKAGE=1) installed into code-server, the demo
 * workspace on a fixture database (max_connections 20), Chromium on the workbench, and the
 * command palette driven as a person would. Whatever `start` got to is closed by `close`, so a
 * set-up that fails half-way leaves nothing running.
 */
import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { Page } from 'playwright-core';
import { type LaunchedBrowser, type LaunchOptions, launchBrowser } from './browser';
import {
  type CodeServerDirs,
  createRunDir,
  ensureCodeServer,
  installVsix,
  type RunningCodeServer,
  repoRoot,
  startCodeServer,
} from './codeServer';
import { type FixtureDatabase, startFixtureDatabase, writeWorkspace } from './fixtures';

export const vsixPath = path.join(repoRoot, 'pool-capacity.vsix');

export interface E2eWorkbenchOptions {
  /** code-server user settings over the defaults. */
  settings: Record<string, unknown>;
  viewport?: LaunchOptions['viewport'];
}

export class E2eWorkbench {
  /** test-results/<name>/, emptied by `start`: the run's screenshots. */
  readonly resultsDir: string;
  db?: FixtureDatabase;
  server?: RunningCodeServer;
  browser?: LaunchedBrowser;
  /** A temporary folder holding the workspace `demo` (`folder`). */
  scratch?: string;
  folder?: string;
  dirs?: CodeServerDirs;

  /** `name`: e2e, e2e-dashboard…, in the results folder, the scratch folder and the run folder. */
  constructor(readonly name: string) {
    this.resultsDir = path.join(repoRoot, 'test-results', name);
  }

  async start(options: E2eWorkbenchOptions): Promise<void> {
    fs.rmSync(this.resultsDir, { recursive: true, force: true });
    fs.mkdirSync(this.resultsDir, { recursive: true });
    if (!process.argv.includes('--skip-package') && process.env.POOL_CAPACITY_E2E_SKIP_PACKAGE !== '1') {
      const packaged = spawnSync('npm', ['run', 'package', '--silent'], { cwd: repoRoot, stdio: 'inherit' });
      assert.equal(packaged.status, 0, 'npm run package failed');
    }
    assert.ok(fs.existsSync(vsixPath), `${vsixPath} is missing: run npm run package`);
    await ensureCodeServer();
    this.db = await startFixtureDatabase({ maxConnections: 20 });
    this.scratch = fs.mkdtempSync(path.join(os.tmpdir(), `pool-capacity-${this.name}-`));
    const folder = writeWorkspace(this.scratch, 'demo', this.db.info);
    this.folder = folder;
    this.dirs = createRunDir(undefined, `code-server-${this.name}`);
    await installVsix(vsixPath, this.dirs);
    this.server = await startCodeServer({ workspace: folder, dirs: this.dirs, settings: options.settings });
    this.browser = await launchBrowser(options.viewport ? { viewport: options.viewport } : undefined);
    const page = this.browser.page;
    await page.goto(`${this.server.url}/?folder=${encodeURIComponent(folder)}`);
    await page.locator('.monaco-workbench').waitFor({ timeout: 60_000 });
  }

  async close(): Promise<void> {
    await this.browser?.close();
    await this.server?.stop();
    await this.db?.stop();
    if (this.scratch) fs.rmSync(this.scratch, { recursive: true, force: true });
  }
}

/** Runs a command from the command palette (F1), as a person would. */
export async function runCommand(page: Page, title: string): Promise<void> {
  await page.keyboard.press('F1');
  const input = page.locator('.quick-input-widget input');
  await input.waitFor({ state: 'visible' });
  await input.fill(`>${title}`);
  // The row shows "Category: Title" with highlight spans; wait for the title part, then take the first.
  const shortTitle = title.includes(': ') ? title.slice(title.indexOf(': ') + 2) : title;
  const row = page.locator('.quick-input-list .monaco-list-row', { hasText: shortTitle }).first();
  await row.waitFor({ state: 'visible' });
  await page.keyboard.press('Enter');
}
