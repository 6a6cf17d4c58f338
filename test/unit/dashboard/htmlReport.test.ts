import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { describe, it } from 'node:test';
import { renderHtmlReport } from '../../../server/src/core/dashboard/htmlReport';
import type { DashboardModel } from '../../../shared/dashboard';

const model: DashboardModel = {
  title: 'Pool Capacity — a </script><script>alert(1)</script> & "quoted" config',
  generatedAt: '2026-02-11T10:00:00.000Z',
  capacityMessage: 'no servers',
  runs: [],
  trends: [],
};
const assets = {
  script: 'document.body.dataset.x = "</script>";',
  css: 'body { color: red } /* </style> */',
};

const hashOf = (text: string) => `'sha256-${createHash('sha256').update(text).digest('base64')}'`;

describe('renderHtmlReport', () => {
  const html = renderHtmlReport(model, assets);

  it('is one file: the script and styles inline, nothing loaded from anywhere', () => {
    assert.doesNotMatch(html, /<script[^>]+src=/i);
    assert.doesNotMatch(html, /<link\b/i);
    assert.doesNotMatch(html, /https?:\/\//);
    assert.equal((html.match(/<script>/g) ?? []).length, 1);
    assert.equal((html.match(/<style>/g) ?? []).length, 1);
  });

  it('allows exactly its own script and styles by hash, and no network', () => {
    const csp = /<meta http-equiv="Content-Security-Policy" content="([^"]+)">/.exec(html)![1]!;
    const script = /<script>([\s\S]*?)<\/script>\n<\/body>/.exec(html)![1]!;
    const style = /<style>([\s\S]*?)<\/style>/.exec(html)![1]!;
    assert.deepEqual(csp.split('; '), [
      "default-src 'none'",
      `script-src ${hashOf(script)}`,
      `style-src ${hashOf(style)}`,
      'img-src data:',
      "base-uri 'none'",
      "form-action 'none'",
    ]);
    assert.doesNotMatch(csp, /unsafe-inline|unsafe-eval/);
    // A closing tag inside the inlined code cannot end its element early.
    assert.equal(script, 'document.body.dataset.x = "<\\/script>";');
    assert.equal(style, 'body { color: red } /* <\\/style> */');
  });

  it('carries the model as JSON that reads back whole, and escapes the title', () => {
    const json = /<script type="application\/json" id="dashboard-data">([\s\S]*?)<\/script>/.exec(html)![1]!;
    assert.ok(!json.includes('<'), 'a < in the data could end the element');
    assert.deepEqual(JSON.parse(json), model);
    assert.match(
      html,
      /<title>Pool Capacity — a &lt;\/script&gt;&lt;script&gt;alert\(1\)&lt;\/script&gt; &amp; &quot;quoted&quot; config<\/title>/,
    );
  });
});
