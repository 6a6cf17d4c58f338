// Browser end-to-end for the capacity dashboard: the packaged extension in code-server, driven
// through Chromium on the demo config (project 40 + shared 3 on max_connections 20). Opens the
// dashboard from the status bar item, runs a capacity test from the dashboard's button and a sweep
// from the palette, takes light and dark screenshots, and opens the CLI's HTML report from a file URL
// with every network request refused. Screenshots go to test-results/e2e-dashboard/ and, when every
// step passed, to docs/images/.
import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Frame, Page } from 'playwright-core';
import type { LaunchedBrowser } from '../../harness/browser';
import { repoRoot } from '../../harness/codeServer';
import { E2eWorkbench, runCommand as runPaletteCommand } from '../../harness/e2eWorkbench';
import type { FixtureDatabase } from '../../harness/fixtures';

const bench = new E2eWorkbench('e2e-dashboard');
const resultsDir = bench.resultsDir;
const imagesDir = path.join(repoRoot, 'docs', 'images');
const cli = path.join(repoRoot, 'dist', 'cli.js');
const statusItem = '#pool-capacity\\.pool-capacity\\.poolCapacity\\.status';
const SCREENSHOTS = ['dashboard-dark', 'dashboard-light', 'html-report'];

let db: FixtureDatabase;
let browser: LaunchedBrowser;
let page: Page;
let scratch: string;
let folder: string;
const screenshots: string[] = [];

/** Runs a command from the command palette (F1), as a person would. */
const runCommand = (title: string) => runPaletteCommand(page, title);

/** Answers the next input box whose prompt contains `prompt`. */
async function answer(prompt: string, value: string): Promise<void> {
  await page.locator('.quick-input-widget', { hasText: prompt }).waitFor({ timeout: 30_000 });
  await page.locator('.quick-input-widget input').fill(value);
  await page.keyboard.press('Enter');
}

/** Confirms the safety check's modal if it appears before `done` does. */
async function confirmIfAsked(done: () => Promise<boolean>): Promise<void> {
  const runAnyway = page.locator('.monaco-dialog-box .monaco-button', { hasText: 'Run anyway' });
  const deadline = Date.now() + 120_000;
  while (!(await done())) {
    if (await runAnyway.isVisible()) await runAnyway.click();
    assert.ok(Date.now() < deadline, 'the run did not finish within 120 s');
    await page.waitForTimeout(200);
  }
}

/** The dashboard webview's inner frame (VS Code nests it in two iframes). */
async function dashboardFrame(check = "document.querySelector('svg.slots rect') !== null"): Promise<Frame> {
  const deadline = Date.now() + 60_000;
  for (;;) {
    for (const frame of page.frames()) {
      const ok = await frame
        .evaluate(`document.getElementById('app') !== null && (${check})`)
        .catch(() => false);
      if (ok) return frame;
    }
    assert.ok(Date.now() < deadline, `no dashboard frame where ${check}`);
    await page.waitForTimeout(250);
  }
}

/** How many pixels of a canvas are not transparent: a drawn chart has thousands. */
const inkOf = (selector: string) => `(() => {
  const canvas = document.querySelector(${JSON.stringify(selector)});
  if (!canvas) return -1;
  const data = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height).data;
  let n = 0;
  for (let i = 3; i < data.length; i += 4) if (data[i] > 0) n++;
  return n;
})()`;

async function evaluate<T>(frame: Frame, expression: string): Promise<T> {
  return (await frame.evaluate(expression)) as T;
}

describe('the capacity dashboard in code-server (packaged .vsix)', { timeout: 300_000 }, () => {
  before(async () => {
    await bench.start({
      settings: { 'poolCapacity.statusPollIntervalMs': 1000, 'workbench.colorTheme': 'Default Dark Modern' },
      viewport: { width: 1400, height: 1000 },
    });
    db = bench.db!;
    browser = bench.browser!;
    page = browser.page;
    scratch = bench.scratch!;
    folder = bench.folder!;
  });

  after(async () => {
    if (SCREENSHOTS.every((name) => screenshots.includes(name))) {
      fs.mkdirSync(imagesDir, { recursive: true });
      for (const name of SCREENSHOTS)
        fs.copyFileSync(path.join(resultsDir, `${name}.png`), path.join(imagesDir, `${name}.png`));
    }
    await bench.close();
  });

  it("opens from the status bar item with the server's bar and table, and follows the live count", async () => {
    const item = page.locator(statusItem);
    await item.waitFor({ timeout: 60_000 });
    // The item shows a count once the poller has read the server.
    const shown = Date.now() + 60_000;
    for (;;) {
      const text = ((await item.textContent()) ?? '').trim();
      if (/\d+\/\d+/.test(text)) break;
      assert.ok(Date.now() < shown, `the status bar item shows "${text}", no count, after 60 s`);
      await page.waitForTimeout(250);
    }
    await item.click();
    const frame = await dashboardFrame();
    const segments = await evaluate<{ kind: string; label: string; slots: number }[]>(
      frame,
      `[...document.querySelectorAll('svg.slots rect[data-kind]')].map((r) => ({ kind: r.dataset.kind, label: r.dataset.label, slots: Number(r.dataset.slots) }))`,
    );
    const slots = Object.fromEntries(segments.map((s) => [s.kind === 'pool' ? s.label : s.kind, s.slots]));
    assert.equal(slots.reserved, db.info.superuserReservedConnections);
    // The demo's 40 + 3 need more than the 20 slots: all free slots go to the pools, the rest past the limit.
    assert.equal(slots.free, undefined);
    assert.equal((slots['project pool'] ?? 0) + (slots['shared pool'] ?? 0) + slots.over!, 43);
    assert.equal(
      segments.filter((s) => s.kind !== 'over').reduce((n, s) => n + s.slots, 0),
      db.info.maxConnections,
    );
    // The table says the same, row by row, for screen readers.
    const rows = await evaluate<Record<string, string>>(
      frame,
      `Object.fromEntries([...document.querySelectorAll('figure.bar table.figures tbody tr')].map((tr) => [tr.dataset.kind + ':' + tr.querySelector('th').textContent, tr.querySelector('td').textContent]))`,
    );
    for (const s of segments)
      assert.equal(rows[`${s.kind}:${s.label}`], String(s.slots), JSON.stringify(rows));
    assert.equal(
      await evaluate<string>(frame, `document.querySelector('figure.bar .status').textContent`),
      'FAIL',
    );
    assert.match(
      await evaluate<string>(frame, `document.querySelector('figure.bar .verdict li').textContent`),
      /^project 40 \+ shared 3 = 43 > \d+ free on /,
    );
    assert.equal(
      await evaluate<string>(frame, `document.querySelector('svg.slots text.limit-label').textContent`),
      `max_connections ${db.info.maxConnections}`,
    );
    // Every segment can be reached with the keyboard and names itself.
    assert.equal(
      await evaluate<number>(
        frame,
        `[...document.querySelectorAll('svg.slots rect[data-kind]')].filter((r) => r.getAttribute('tabindex') === '0' && r.getAttribute('aria-label')).length`,
      ),
      segments.length,
    );
    // "In use now" follows the status bar's count (the same poll).
    const deadline = Date.now() + 30_000;
    for (;;) {
      const status = ((await item.textContent()) ?? '').trim().split('/')[0];
      const live = await evaluate<string>(frame, `document.querySelector('td.live-figure').textContent`);
      const marker = await evaluate<number>(frame, `document.querySelectorAll('svg.slots line.now').length`);
      if (live === status && marker === 1) break;
      assert.ok(Date.now() < deadline, `dashboard says ${live} in use, the status bar ${status}`);
      await page.waitForTimeout(250);
    }
    assert.equal(await evaluate<string | undefined>(frame, 'document.body.dataset.cspViolations'), undefined);
  });

  it("runs a capacity test from the dashboard's button and charts it", async () => {
    const frame = await dashboardFrame();
    await frame.locator('button[data-command="capacityTest"]').click();
    await answer('Concurrent agents', '5');
    await answer('holds its connection', '200');
    let run: Frame | undefined;
    await confirmIfAsked(async () => {
      run = await dashboardFrame(
        `document.querySelector('section.run canvas[data-chart="connections"]') !== null`,
      ).catch(() => undefined);
      return run !== undefined;
    });
    const charted = run!;
    for (const chart of ['connections', 'latency', 'outcomes'])
      assert.ok(
        (await evaluate<number>(charted, inkOf(`section.run canvas[data-chart="${chart}"]`))) > 500,
        `the ${chart} chart is blank`,
      );
    assert.equal(
      await evaluate<string>(
        charted,
        `document.querySelector('canvas[data-chart="connections"]').dataset.xLabel`,
      ),
      'seconds since the run started',
    );
    assert.equal(
      await evaluate<string>(
        charted,
        `document.querySelector('canvas[data-chart="outcomes"]').dataset.yLabel`,
      ),
      'agents',
    );
  });

  it('runs a capacity sweep from the palette and charts success rate and p95 with the pool size line', async () => {
    await runCommand('Pool Capacity: Run Capacity Sweep');
    await answer('Agent counts FROM..TO', '2..8');
    await answer('Agents added per step', '3');
    await answer('holds its connection', '100');
    let swept: Frame | undefined;
    await confirmIfAsked(async () => {
      swept = await dashboardFrame(`document.querySelector('canvas[data-chart="sweep"]') !== null`).catch(
        () => undefined,
      );
      return swept !== undefined;
    });
    const frame = swept!;
    assert.ok(
      (await evaluate<number>(frame, inkOf('canvas[data-chart="sweep"]'))) > 500,
      'the sweep chart is blank',
    );
    const canvas = `document.querySelector('canvas[data-chart="sweep"]')`;
    assert.equal(await evaluate<string>(frame, `${canvas}.dataset.xLabel`), 'concurrent agents');
    assert.equal(await evaluate<string>(frame, `${canvas}.dataset.yLabel`), 'success rate (%)');
    const usable = db.info.maxConnections - db.info.superuserReservedConnections;
    assert.deepEqual((await evaluate<string>(frame, `${canvas}.dataset.markers`)).split('|'), [
      'pool size 40',
      `usable slots ${usable}`,
    ]);
    // Its figures: one row per step.
    assert.deepEqual(
      await evaluate<string[]>(
        frame,
        `[...document.querySelector('figure[data-chart="sweep"] table tbody').querySelectorAll('th')].map((th) => th.textContent)`,
      ),
      ['2', '5', '8'],
    );

    // Screenshots: the dashboard alone, in the dark theme and then the light one.
    await runCommand('View: Single Column Editor Layout');
    await runCommand('View: Hide Panel');
    await runCommand('View: Close Primary Side Bar');
    await runCommand('Notifications: Clear All Notifications');
    await page.setViewportSize({ width: 1400, height: 1500 });
    await runCommand('Pool Capacity: Open Capacity Dashboard');
    await dashboardFrame(`document.querySelector('canvas[data-chart="sweep"]') !== null`);
    await page.waitForTimeout(500);
    await page.screenshot({ path: path.join(resultsDir, 'dashboard-dark.png') });
    screenshots.push('dashboard-dark');
    // The light theme, picked as a person picks it: the webview follows without a reload.
    await page.keyboard.press('F1');
    await page.locator('.quick-input-widget input').fill('>Preferences: Color Theme');
    // Not "Browse Color Themes in Marketplace", which has no network here.
    await page
      .locator('.quick-input-list .monaco-list-row[aria-label^="Preferences: Color Theme"]')
      .first()
      .click();
    await page.locator('.quick-input-widget input').fill('Light Modern');
    await page.locator('.quick-input-list .monaco-list-row', { hasText: 'Light Modern' }).first().waitFor();
    await page.keyboard.press('Enter');
    const light = await dashboardFrame(
      `document.body.classList.contains('vscode-light') && document.querySelector('canvas[data-chart="sweep"]') !== null`,
    );
    assert.ok((await evaluate<number>(light, inkOf('canvas[data-chart="sweep"]'))) > 500);
    await page.waitForTimeout(500);
    await page.screenshot({ path: path.join(resultsDir, 'dashboard-light.png') });
    screenshots.push('dashboard-light');
  });

  it("opens the CLI's HTML report from a file URL with every network request refused", async () => {
    const html = path.join(scratch, 'sweep.html');
    const result = spawnSync(
      process.execPath,
      [cli, 'test', '--sweep', '2..6', '--step', '2', '--duration', '100', '--force', '--html', html],
      { cwd: folder, encoding: 'utf8', timeout: 120_000 },
    );
    assert.ok(fs.existsSync(html), `no HTML report: ${result.stderr}`);
    const reportPage = await browser.context.newPage();
    const requests: string[] = [];
    await reportPage.route('**/*', (route) => {
      const url = route.request().url();
      requests.push(url);
      return url.startsWith('file:') ? route.continue() : route.abort();
    });
    await reportPage.emulateMedia({ colorScheme: 'light' });
    await reportPage.goto(`file://${html}`);
    await reportPage.waitForSelector('body[data-rendered]', { timeout: 30_000 });
    assert.deepEqual(requests, [`file://${html}`]);
    const frame = reportPage.mainFrame();
    assert.ok(
      (await evaluate<number>(frame, `document.querySelectorAll('svg.slots rect[data-kind]').length`)) >= 3,
    );
    assert.ok(
      (await evaluate<number>(frame, inkOf('canvas[data-chart="sweep"]'))) > 500,
      'the sweep chart is blank',
    );
    assert.equal(await evaluate<string | undefined>(frame, 'document.body.dataset.cspViolations'), undefined);
    await reportPage.setViewportSize({ width: 1100, height: 1000 });
    await reportPage.screenshot({ path: path.join(resultsDir, 'html-report.png') });
    screenshots.push('html-report');
    await reportPage.close();
  });
});
