// Debian's Chromium driven by playwright-core (never `playwright install`: no downloads here), with a
// fresh profile per launch and HOME/XDG_* pointed at a scratch directory that close() removes.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { type BrowserContext, chromium, type Page } from 'playwright-core';

export const chromiumPath = process.env.POOL_CAPACITY_CHROMIUM ?? '/usr/bin/chromium';

const chromiumArgs = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--disable-dev-shm-usage',
  // The workbench only talks to code-server on 127.0.0.1. Without this, its fetches of marketplace and
  // CDN hosts wait seconds for DNS to fail on a machine without internet.
  '--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1, EXCLUDE localhost',
];

export interface LaunchOptions {
  /** Parent of the scratch directory; defaults to the system temp directory. */
  scratchRoot?: string;
  viewport?: { width: number; height: number };
}

export interface LaunchedBrowser {
  context: BrowserContext;
  /** The first tab of the fresh profile. */
  page: Page;
  /** Closes the browser (all its processes) and removes the profile and scratch directory. */
  close(): Promise<void>;
}

export function requireChromium(): void {
  if (!fs.existsSync(chromiumPath)) {
    throw new Error(
      `Chromium is missing at ${chromiumPath}; install Debian's with \`apt-get install chromium\` (as root). ` +
        'playwright-core drives it; nothing is downloaded.',
    );
  }
}

export async function launchBrowser(options: LaunchOptions = {}): Promise<LaunchedBrowser> {
  requireChromium();
  const scratch = fs.mkdtempSync(path.join(options.scratchRoot ?? os.tmpdir(), 'pool-capacity-chromium-'));
  for (const dir of ['home', 'config', 'cache', 'data', 'profile']) fs.mkdirSync(path.join(scratch, dir));
  let context: BrowserContext;
  try {
    context = await chromium.launchPersistentContext(path.join(scratch, 'profile'), {
      executablePath: chromiumPath,
      headless: true,
      args: chromiumArgs,
      viewport: options.viewport ?? { width: 1400, height: 900 },
      env: {
        ...process.env,
        HOME: path.join(scratch, 'home'),
        XDG_CONFIG_HOME: path.join(scratch, 'config'),
        XDG_CACHE_HOME: path.join(scratch, 'cache'),
        XDG_DATA_HOME: path.join(scratch, 'data'),
      },
      timeout: 30_000,
    });
  } catch (error) {
    fs.rmSync(scratch, { recursive: true, force: true });
    throw error;
  }
  const page = context.pages()[0] ?? (await context.newPage());
  let closed = false;
  return {
    context,
    page,
    async close() {
      if (closed) return;
      closed = true;
      await context.close().catch(() => {});
      fs.rmSync(scratch, { recursive: true, force: true });
    },
  };
}
