// `npm run icon`: renders media/icon.svg (drawn for this project) to the 128x128 PNG the extension
// manifest names, with Debian's Chromium through playwright-core (nothing is downloaded). The PNG is
// committed, so packaging needs no browser; run this after changing the SVG.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { launchBrowser } from '../harness/browser';
import { repoRoot } from '../harness/codeServer';

export const iconSvg = path.join(repoRoot, 'media', 'icon.svg');
export const iconPng = path.join(repoRoot, 'media', 'icon.png');
const SIZE = 128;

async function main(): Promise<void> {
  const svg = fs.readFileSync(iconSvg, 'utf8');
  const browser = await launchBrowser({ viewport: { width: SIZE, height: SIZE } });
  try {
    const dataUrl = `data:image/svg+xml;base64,${Buffer.from(svg).toString('base64')}`;
    await browser.page.setContent(
      `<html><body style="margin:0;background:transparent"><img id="icon" src="${dataUrl}" width="${SIZE}" height="${SIZE}"></body></html>`,
    );
    await browser.page.waitForFunction('document.getElementById("icon").complete');
    await browser.page.screenshot({
      path: iconPng,
      omitBackground: true,
      clip: { x: 0, y: 0, width: SIZE, height: SIZE },
    });
  } finally {
    await browser.close();
  }
  console.log(`wrote ${path.relative(repoRoot, iconPng)} (${fs.statSync(iconPng).size} bytes)`);
}

main().catch((error) => {
  console.error(`could not render the icon: ${error instanceof Error ? error.message : error}`);
  process.exit(1);
});
