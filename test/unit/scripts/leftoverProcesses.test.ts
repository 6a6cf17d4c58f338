// Which processes `npm start` treats as an earlier run's leftovers (a described process table).
import * as assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { leftoverProcesses, type ProcessInfo } from '../../../harness/processes';

const proc = (
  pid: number,
  ppid: number,
  pgid: number,
  comm: string,
  cwd?: string,
  extra: Partial<ProcessInfo> = {},
) => ({ pid, ppid, pgid, comm, cwd, zombie: false, name: comm, ...extra }) as ProcessInfo;

const state = '/repo/.run/demo';
const pgRoot = '/dev/shm/pool-capacity-demo-abc';
const table: ProcessInfo[] = [
  proc(1, 0, 1, 'init', '/'),
  proc(100, 1, 100, 'bash', `${state}/workspace`), // someone's shell in the workspace: not ours to stop
  proc(200, 100, 200, 'npm', '/repo'),
  proc(201, 200, 200, 'node', '/repo'), // this `npm start`
  proc(300, 1, 300, 'postgres', `${pgRoot}/pool-capacity-pg-x/data`),
  proc(301, 300, 301, 'postgres', `${pgRoot}/pool-capacity-pg-x/data`),
  proc(400, 1, 400, 'node', `${state}/code-server-a`, { name: 'code-server' }),
  proc(401, 400, 400, 'node', '/elsewhere'), // extension host that changed directory: same group
  proc(402, 400, 400, 'node', '/x', { zombie: true }),
  proc(500, 1, 500, 'postgres', '/dev/shm/pool-capacity-pg-other/data'), // a test's cluster
  proc(600, 1, 200, 'node', `${state}/code-server-b`), // in our own group: never
];

describe('leftovers of a killed npm start', () => {
  it('are the demo programs in its directories and their groups, never us, a shell or others', () => {
    const found = leftoverProcesses(table, [state, pgRoot], 201).map((p) => p.pid);
    assert.deepEqual(found, [300, 301, 400, 401]);
  });

  it('are none when nothing works in its directories', () => {
    assert.deepEqual(leftoverProcesses(table, ['/nowhere'], 201), []);
  });
});
