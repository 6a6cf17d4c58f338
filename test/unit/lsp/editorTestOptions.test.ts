// The editor's load test and capacity sweep pick their pool by one rule (dashboardRequests.ts):
// under mode patroni-ha the singleNode pools are inactive, so a test that names none goes to Patroni.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { resolveConfig } from '../../../server/src/io/config/configFiles';
import { editorTestOptions } from '../../../server/src/lsp/dashboardRequests';
import { LAYOUT_B } from '../testSupport';

const load = (text: string) => resolveConfig('/x/.claude-flow/config.yaml', text, {});
const HA = LAYOUT_B.replace('mode: single-node', 'mode: patroni-ha');

describe("the editor's test options", () => {
  it('under patroni-ha the load test and the sweep default to the Patroni pool', async () => {
    const loaded = await load(HA);
    assert.equal(editorTestOptions(loaded, { shape: 'burst' }).pool, 'patroni');
    // The sweep's options: what the client sends (no pool), the shape forced to capacity.
    assert.equal(
      editorTestOptions(loaded, { durationMs: 100, force: false, shape: 'capacity' }).pool,
      'patroni',
    );
  });

  it('a pool the user names wins; single-node keeps the project pool', async () => {
    assert.equal(editorTestOptions(await load(HA), { shape: 'capacity', pool: 'project' }).pool, 'project');
    assert.equal(editorTestOptions(await load(LAYOUT_B), { shape: 'capacity' }).pool, 'project');
  });
});
