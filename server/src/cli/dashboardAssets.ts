/** The dashboard's script and styles, inlined by the CLI's HTML report. */

import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { DashboardAssets } from '../core/dashboard/htmlReport';

// esbuild puts dist/dashboard.js and .css here when it bundles the CLI (esbuild.mjs), so the
// installed CLI is still one file; from sources (tests, tsx) they are read from dist/.
declare const POOL_CAPACITY_DASHBOARD_ASSETS: DashboardAssets | undefined;

/** The dashboard's bundle, from the CLI bundle itself or from dist/ (`npm run build`). */
export function dashboardAssets(): DashboardAssets {
  if (typeof POOL_CAPACITY_DASHBOARD_ASSETS !== 'undefined' && POOL_CAPACITY_DASHBOARD_ASSETS)
    return POOL_CAPACITY_DASHBOARD_ASSETS;
  for (const dir of [__dirname, join(__dirname, '..', '..', '..', 'dist')]) {
    const script = join(dir, 'dashboard.js');
    if (existsSync(script))
      return { script: readFileSync(script, 'utf8'), css: readFileSync(join(dir, 'dashboard.css'), 'utf8') };
  }
  throw new Error('the dashboard bundle (dist/dashboard.js) is missing: run npm run build');
}
