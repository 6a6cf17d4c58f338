// "Pool Capacity: Run Pool Capacity Test" through its command, its prompts answered, against the
// fixture server; the results table lands in the "Pool Capacity" output channel.
import * as assert from 'node:assert/strict';
import type pg from 'pg';
import * as vscode from 'vscode';
import type { PoolCapacityApi } from '../../../client/src/poolCapacityContext';
import {
  activateExtension,
  configUri,
  connectAsSuperuser,
  fixture,
  hoverText,
  OUR_APPLICATION_PREFIX,
  pollUntil,
  poolSizeRange,
} from './harness';

/** Small enough for the fixture server's safety margin (17 usable slots), so no "Run anyway" modal. */
const AGENTS = 5;

/**
 * Runs a command that asks through input boxes, accepting each box's default until the command
 * settles (the API has no event for "an input box is showing").
 */
async function runAcceptingDefaults(command: string, timeoutMs: number): Promise<void> {
  let settled = false;
  const running = Promise.resolve(vscode.commands.executeCommand(command)).finally(() => {
    settled = true;
  });
  const deadline = Date.now() + timeoutMs;
  while (!settled) {
    if (Date.now() > deadline) throw new Error(`${command} did not finish within ${timeoutMs} ms`);
    await vscode.commands.executeCommand('workbench.action.acceptSelectedQuickOpenItem');
    await Promise.race([running.catch(() => {}), new Promise((resolve) => setTimeout(resolve, 100))]);
  }
  await running;
}

describe('the capacity test command', () => {
  let api: PoolCapacityApi;
  let superuser: pg.Client;

  before(async () => {
    api = await activateExtension();
    superuser = await connectAsSuperuser();
    // The agent prompt defaults to the target: make it small through the setting, and wait until the
    // language server has picked the setting up (its hover names the target and where it came from).
    await vscode.workspace
      .getConfiguration('poolCapacity', configUri())
      .update('targetAgents', AGENTS, vscode.ConfigurationTarget.Workspace);
    const document = await vscode.workspace.openTextDocument(configUri());
    await pollUntil(async () => {
      const hovers = await vscode.commands.executeCommand<vscode.Hover[]>(
        'vscode.executeHoverProvider',
        document.uri,
        poolSizeRange(fixture.project).start,
      );
      return hoverText(hovers).includes(`Target: ${AGENTS} concurrent agents (setting)`) ? true : undefined;
    }, `the language server did not report poolCapacity.targetAgents = ${AGENTS}`);
  });

  after(async () => {
    await vscode.workspace
      .getConfiguration('poolCapacity', configUri())
      .update('targetAgents', undefined, vscode.ConfigurationTarget.Workspace);
    await superuser?.end();
  });

  it('writes a PASS table for the agent count to the output channel and leaves no connection', async () => {
    const before = api.outputText();
    await runAcceptingDefaults('poolCapacity.runCapacityTest', 25_000);
    const written = api.outputText().slice(before.length);
    assert.ok(written.length > 0, 'the command wrote nothing to the output channel');

    const run = /^Run\s+(\S+)\s+capacity test \((\d+) agents\), hold 200 ms, mode pool/m.exec(written);
    assert.ok(run, `no "Run … capacity test" line in:\n${written}`);
    assert.equal(Number(run[2]), AGENTS);
    assert.match(written, new RegExp(`^Pool\\s+project size ${fixture.project.poolSize}\\b`, 'm'));
    assert.match(written, new RegExp(`^PASS\\s+capacity\\s+${AGENTS}\\s+100%`, 'm'));
    assert.match(written, new RegExp(`^Result\\s+PASS\\s+${AGENTS}/${AGENTS} agents succeeded`, 'm'));
    assert.match(written, /^Server\s+peak \d+ connections of this run, 0 left after it$/m);
    for (const secret of [fixture.project.password, fixture.shared.password, fixture.superuserPassword]) {
      assert.ok(!api.outputText().includes(secret), 'a password reached the output channel');
    }

    // The run's connections (application_name pool-capacity/<run id>) are all closed.
    const left = await superuser.query(
      'SELECT count(*)::int AS n FROM pg_stat_activity WHERE application_name = $1',
      [`${OUR_APPLICATION_PREFIX}${run[1]}`],
    );
    assert.equal(left.rows[0].n, 0);
  });
});
