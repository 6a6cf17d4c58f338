// Bundles the three entry points. tsc -b only type-checks; esbuild writes dist/.
import { readFileSync } from 'node:fs';
import * as esbuild from 'esbuild';

const watch = process.argv.includes('--watch');
const production = process.argv.includes('--production');

/** @type {import('esbuild').BuildOptions} */
const common = {
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'cjs',
  sourcemap: !production,
  minify: production,
  logLevel: 'warning',
  // pg optionally requires pg-native; we never use it.
  external: ['pg-native'],
};

const builds = [
  {
    ...common,
    entryPoints: { client: 'client/src/extension.ts' },
    outdir: 'dist',
    external: [...common.external, 'vscode'],
  },
  { ...common, entryPoints: { server: 'server/src/lsp/serverMain.ts' }, outdir: 'dist' },
  {
    ...common,
    entryPoints: { cli: 'server/src/cli/cliMain.ts' },
    outdir: 'dist',
    banner: { js: '#!/usr/bin/env node' },
    // The CLI's HTML report inlines the dashboard: the installed CLI stays one file.
    define: {
      POOL_CAPACITY_DASHBOARD_ASSETS: () =>
        JSON.stringify({
          script: readFileSync('dist/dashboard.js', 'utf8'),
          css: readFileSync('dist/dashboard.css', 'utf8'),
        }),
    },
  },
];

// The dashboard's browser code (webview and HTML report): dist/dashboard.js and dist/dashboard.css,
// built first because the CLI carries it.
const dashboard = {
  entryPoints: { dashboard: 'client/webview/dashboard.ts' },
  outdir: 'dist',
  bundle: true,
  platform: 'browser',
  target: 'es2022',
  format: 'iife',
  minify: true,
  sourcemap: false,
  logLevel: 'warning',
};
await esbuild.build(dashboard);
for (const options of builds)
  if (typeof options.define?.POOL_CAPACITY_DASHBOARD_ASSETS === 'function')
    options.define = { POOL_CAPACITY_DASHBOARD_ASSETS: options.define.POOL_CAPACITY_DASHBOARD_ASSETS() };

if (watch) {
  for (const options of [dashboard, ...builds]) (await esbuild.context(options)).watch();
} else {
  await Promise.all(builds.map((options) => esbuild.build(options)));
}
