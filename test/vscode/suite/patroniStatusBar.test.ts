// In a workspace on a real Patroni cluster, the status bar item names the leader and its live count,
// and follows a switchover to the new leader without a reload.
import * as assert from 'node:assert/strict';
import http from 'node:http';
import type { PoolCapacityApi } from '../../../client/src/poolCapacityContext';
import { PATRONI_FIXTURE_ENV, type PatroniFixtureInfo } from '../../../harness/fixtureInfo';
import { activateExtension, pollUntil } from './harness';

const cluster = JSON.parse(process.env[PATRONI_FIXTURE_ENV] ?? 'null') as PatroniFixtureInfo | null;

/** POST /switchover on the leader's REST API; resolves with the status code (bounded). */
function switchover(leader: { name: string; apiPort: number }): Promise<number> {
  return new Promise((resolve, reject) => {
    const body = JSON.stringify({ leader: leader.name });
    const request = http.request(
      {
        host: '127.0.0.1',
        port: leader.apiPort,
        path: '/switchover',
        method: 'POST',
        headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) },
        timeout: 30_000,
      },
      (response) => {
        response.resume();
        response.on('end', () => resolve(response.statusCode ?? 0));
      },
    );
    request.on('timeout', () => request.destroy(new Error('POST /switchover: no answer within 30 s')));
    request.on('error', reject);
    request.end(body);
  });
}

describe('the status bar item on a Patroni cluster', () => {
  let api: PoolCapacityApi;

  before(async () => {
    assert.ok(
      cluster,
      `${PATRONI_FIXTURE_ENV} is not set: the patroni window runs through npm run test:vscode`,
    );
    api = await activateExtension();
  });

  /** Waits until the item shows `$(database) <member> N/100` and returns the member. */
  const leaderShown = (other?: string) => {
    let last = '';
    return pollUntil(
      () => {
        last = api.statusText();
        const shown = /^\$\(database\) (pg\d) (\d+)\/100$/.exec(last);
        return shown && shown[1] !== other ? shown[1] : undefined;
      },
      () =>
        `the status bar never showed ${other ? `a leader other than ${other}` : 'the leader'}: last "${last}"`,
      30_000,
    );
  };

  it('shows the leader and its count, then the new leader after a switchover', async () => {
    const before = await leaderShown();
    const tooltip = api.statusTooltip();
    assert.ok(
      tooltip.includes(`leader** of the Patroni cluster at ${cluster!.apiHosts.join(', ')}`),
      tooltip,
    );
    const member = cluster!.members.find((m) => m.name === before)!;
    assert.equal(await switchover(member), 200);
    const after = await leaderShown(before);
    assert.notEqual(after, before);
  });
});
