/**
 * The HTML report for CI: one self-contained file with the dashboard's bars and charts. The
 * dashboard's own script and styles are inlined and allowed by hash in a strict CSP (no network,
 * no external script, nothing else may run); the model travels as JSON in a data element.
 */
import { createHash } from 'node:crypto';
import type { DashboardModel } from '../../../../shared/dashboard';

export interface DashboardAssets {
  script: string;
  css: string;
}

const sha256 = (text: string) => `'sha256-${createHash('sha256').update(text, 'utf8').digest('base64')}'`;

const escapeHtml = (text: string) =>
  text.replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c]!);

/** The whole page. Nothing in it reaches the network: default-src 'none'. */
export function renderHtmlReport(model: DashboardModel, assets: DashboardAssets): string {
  // Inside <script> and <style> only a closing tag could end the element early.
  const script = assets.script.replace(/<\/(script)/gi, '<\\/$1');
  const css = assets.css.replace(/<\/(style)/gi, '<\\/$1');
  const data = JSON.stringify(model).replace(/</g, '\\u003c');
  const csp = [
    "default-src 'none'",
    `script-src ${sha256(script)}`,
    `style-src ${sha256(css)}`,
    'img-src data:',
    "base-uri 'none'",
    "form-action 'none'",
  ].join('; ');
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="${csp}">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(model.title)}</title>
<style>${css}</style>
</head>
<body>
<main id="app"><h1>${escapeHtml(model.title)}</h1><p>The charts need JavaScript; the figures are in the JSON below.</p></main>
<script type="application/json" id="dashboard-data">${data}</script>
<script>${script}</script>
</body>
</html>
`;
}
