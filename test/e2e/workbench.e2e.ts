// Browser end-to-end: Pool Capacity as a person meets it, in code-server driven through Chromium. The
// extension is the packaged pool-capacity.vsix installed with `code-server --install-extension`, so
// the artifact users install is what is tested. Screenshots go to test-results/e2e/ and, when every
// step passed, to docs/images/ for the README.
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Page } from 'playwright-core';
import { repoRoot } from '../../harness/codeServer';
import { E2eWorkbench, runCommand as runPaletteCommand } from '../../harness/e2eWorkbench';
import type { FixtureDatabase } from '../../harness/fixtures';

const bench = new E2eWorkbench('e2e');
const resultsDir = bench.resultsDir;
const imagesDir = path.join(repoRoot, 'docs', 'images');
const statusItem = '#pool-capacity\\.pool-capacity\\.poolCapacity\\.status';
/** Other clients the test opens, so the status bar has a count worth comparing. */
const otherClients = 4;

let db: FixtureDatabase;
let page: Page;
const screenshots: string[] = [];

async function screenshot(name: string): Promise<void> {
  const file = path.join(resultsDir, `${name}.png`);
  await page.screenshot({ path: file });
  screenshots.push(file);
}

/** Runs a command from the command palette (F1), as a person would. */
const runCommand = (title: string) => runPaletteCommand(page, title);

/** The text of the visible lines of the output panel, with the editor's rendered spaces made plain. */
async function outputText(): Promise<string> {
  // biome-ignore lint/performance/useDomNodeTextContent: Playwright's innerText keeps one line per view-line
  const text = await page.locator('.panel .output-view .view-lines').innerText();
  return text.replace(/\p{Zs}/gu, ' ').replace(/[\u200b-\u200d]/g, '');
}

/** What the extension's status poller counts: client backends that are not its own status/probe/observer. */
async function serverCount(): Promise<number> {
  const [row] = await db.cluster.sql<{ n: number }>(
    `SELECT count(*)::int AS n FROM pg_stat_activity
      WHERE backend_type = 'client backend'
        AND coalesce(application_name, '') NOT IN ('pool-capacity/status', 'pool-capacity/probe', 'pool-capacity/observer')`,
  );
  return row!.n;
}

describe('Pool Capacity in code-server (packaged .vsix)', { timeout: 240_000 }, () => {
  before(async () => {
    await bench.start({ settings: { 'poolCapacity.statusPollIntervalMs': 1000 } });
    db = bench.db!;
    page = bench.browser!.page;
  });

  after(async () => {
    // Current screenshots for the README, only from a run whose steps all produced theirs.
    if (screenshots.length === 3) {
      fs.mkdirSync(imagesDir, { recursive: true });
      for (const file of screenshots) fs.copyFileSync(file, path.join(imagesDir, path.basename(file)));
    }
    await bench.close();
  });

  it('opens the config and shows pool-exceeds-server in the Problems panel on the poolSize line', async () => {
    await page.keyboard.press('Control+P');
    const input = page.locator('.quick-input-widget input');
    await input.waitFor({ state: 'visible' });
    await input.fill('config.yaml');
    await page.locator('.quick-input-list .monaco-list-row', { hasText: 'config.yaml' }).first().waitFor();
    await page.keyboard.press('Enter');
    await page.locator('.monaco-editor .view-lines', { hasText: 'poolSize' }).first().waitFor();

    await runCommand('Problems: Focus on Problems View');
    const line = db.info.project.poolSizeLine + 1;
    const problem = page
      .locator('.markers-panel .monaco-list-row', { hasText: 'pool-exceeds-server' })
      .filter({ hasText: `Ln ${line}` });
    await problem.first().waitFor({ timeout: 60_000 });
    const text = (await problem.first().textContent()) ?? '';
    assert.match(text, /pool-exceeds-server/);
    assert.match(text, new RegExp(`Ln ${line}, Col \\d+`));
    await screenshot('problems-pool-exceeds-server');
  });

  it('runs "Pool Capacity: Run Pool Capacity Test" from the palette and shows the results table', async () => {
    await runCommand('Pool Capacity: Run Pool Capacity Test');
    // First prompt: agents (default = target). Answer with a count the server can take.
    const input = page.locator('.quick-input-widget input');
    await input.waitFor({ state: 'visible' });
    await input.fill('5');
    await page.keyboard.press('Enter');
    // Second prompt: how long each agent holds its connection.
    await page.locator('.quick-input-widget', { hasText: 'holds its connection' }).waitFor();
    await input.fill('200');
    await page.keyboard.press('Enter');
    const runAnyway = page.locator('.monaco-dialog-box .monaco-button', { hasText: 'Run anyway' });
    const table = page.locator('.panel .output-view .view-lines', { hasText: 'Result' });
    await Promise.race([table.waitFor({ timeout: 90_000 }), runAnyway.waitFor({ timeout: 90_000 })]);
    if (await runAnyway.isVisible()) {
      await runAnyway.click();
      await table.waitFor({ timeout: 90_000 });
    }
    const text = await outputText();
    assert.match(text, /^Run\s+\S+\s+capacity test \(5 agents/m);
    assert.match(text, /^Result\s+(PASS|WARN|FAIL)/m);
    await screenshot('output-capacity-test');
  });

  it('shows a live connection count in the status bar that matches the server', async () => {
    const occupation = await db.cluster.occupy(otherClients);
    try {
      const item = page.locator(statusItem);
      await item.waitFor();
      let last = '';
      let expected = -1;
      const deadline = Date.now() + 30_000;
      for (;;) {
        expected = await serverCount();
        last = ((await item.textContent()) ?? '').trim();
        if (last === `${expected}/${db.info.maxConnections}`) break;
        assert.ok(Date.now() < deadline, `status bar says "${last}", the server has ${expected} connections`);
        await page.waitForTimeout(250);
      }
      assert.ok(expected >= otherClients);
      await screenshot('status-bar-count');
    } finally {
      await occupation.release();
    }
  });

  it("shows the installed extension's page with its icon and the README's images", async () => {
    await page.keyboard.press('Control+Shift+X');
    const search = page.locator('.extensions-viewlet .suggest-input-container textarea').first();
    await search.waitFor({ timeout: 30_000 });
    await search.fill('@installed Pool Capacity');
    const item = page.locator('.extension-list-item', { hasText: 'Pool Capacity' }).first();
    await item.waitFor({ timeout: 30_000 });
    await item.click();
    const icon = page.locator('.extension-editor > .header .icon-container img.icon');
    await icon.waitFor({ timeout: 30_000 });
    assert.match((await icon.getAttribute('src')) ?? '', /media%2Ficon\.png|media\/icon\.png/);
    await page.waitForFunction(
      (img) => (img as unknown as { complete: boolean }).complete,
      await icon.elementHandle(),
    );
    assert.equal(
      await icon.evaluate((img) => (img as unknown as { naturalWidth: number }).naturalWidth),
      128,
    );

    // The README renders in a webview (nested frames): find the frame holding its images.
    const deadline = Date.now() + 30_000;
    let images: { src: string; complete: boolean; naturalWidth: number }[] = [];
    for (;;) {
      images = [];
      for (const frame of page.frames()) {
        const found = await frame
          .evaluate(() =>
            Array.from(
              (globalThis as unknown as { document: { images: ArrayLike<Record<string, unknown>> } }).document
                .images,
            ).map((img) => ({
              src: String(img.src).slice(0, 40),
              complete: img.complete === true,
              naturalWidth: Number(img.naturalWidth),
            })),
          )
          .catch(() => []);
        if (found.some((img) => img.src.startsWith('data:image/png'))) images = found;
      }
      if (images.length >= 3 && images.every((img) => img.complete)) break;
      assert.ok(Date.now() < deadline, `README images did not load: ${JSON.stringify(images)}`);
      await page.waitForTimeout(250);
    }
    for (const img of images)
      assert.ok(img.naturalWidth > 0, `a README image is broken: ${JSON.stringify(img)}`);
    await page.screenshot({ path: path.join(resultsDir, 'extension-page.png') });
  });
});
