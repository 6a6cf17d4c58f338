import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { pathToFileURL } from 'node:url';
import {
  ErrorCodes,
  HoverRequest,
  LogMessageNotification,
  type LogMessageParams,
  MessageType,
  ResponseError,
} from 'vscode-languageserver-protocol';
import { LspSession } from '../../harness/lspSession';
import { CapacityReportRequest, ListConfigsRequest, RunLoadTestRequest } from '../../shared/protocol';

/** A password written into the config: no log line may carry it. */
const PASSWORD = 'handler-Secret-7q';

/**
 * Requests whose handler throws (here: malformed parameters a well-behaved client never sends)
 * must be answered and logged, never left unanswered or lost. No database is needed: every
 * failure happens before a connection would be opened, and the config's server is a closed port.
 */
describe('a language server request whose handler throws', () => {
  let dir: string;
  let uri: string;
  let lsp: LspSession;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'pool-capacity-handler-failures-'));
    await mkdir(join(dir, '.claude-flow'));
    const configPath = join(dir, '.claude-flow', 'config.yaml');
    uri = pathToFileURL(configPath).toString();
    await writeFile(
      configPath,
      `memory:\n  postgresql:\n    project:\n      host: 127.0.0.1\n      port: 1\n      database: postgres\n      user: agent\n      password: ${PASSWORD}\n      poolSize: 8\n`,
    );
    lsp = new LspSession({ workspace: dir });
    await lsp.initialize();
  });

  after(async () => {
    await lsp?.close();
    await rm(dir, { recursive: true, force: true });
  });

  const errorLogLine = (name: string) =>
    lsp.waitForNotification<LogMessageParams>(
      LogMessageNotification.method,
      (p) => p.type === MessageType.Error && p.message.startsWith(`${name} failed:`),
    );

  /** The request's error response; fails the test if the request succeeds or is not answered in time. */
  async function errorResponse(send: () => Promise<unknown>): Promise<ResponseError<unknown>> {
    let deadline: NodeJS.Timeout | undefined;
    const answered = send().then(
      (result) => assert.fail(`expected an error response, got ${JSON.stringify(result)}`),
      (error: unknown) => error,
    );
    const unanswered = new Promise<never>((_, reject) => {
      deadline = setTimeout(() => reject(new Error('no response within 15 s')), 15_000);
    });
    try {
      const error = await Promise.race([answered, unanswered]);
      assert.ok(error instanceof ResponseError, `a ResponseError, got ${String(error)}`);
      return error;
    } finally {
      clearTimeout(deadline);
    }
  }

  it('CapacityReport answers with an error response naming it, and logs the cause at error level', async () => {
    const error = await errorResponse(() =>
      lsp.connection.sendRequest(CapacityReportRequest.type, null as never),
    );
    assert.equal(error.code, ErrorCodes.InternalError);
    assert.match(error.message, /^Pool Capacity: capacityReport failed: /);
    const logged = await errorLogLine('capacityReport');
    // With the stack: the log says where, not only what.
    assert.match(logged.message, /\n\s+at /);
  });

  it('RunLoadTest answers with an error response and a log line, without a password in either', async () => {
    const error = await errorResponse(() =>
      // No params at all: the handler throws before it can answer with an outcome of its own.
      lsp.connection.sendRequest(RunLoadTestRequest.type, null as never),
    );
    assert.equal(error.code, ErrorCodes.InternalError);
    assert.match(error.message, /^Pool Capacity: runLoadTest failed: /);
    const logged = await errorLogLine('runLoadTest');
    assert.ok(!logged.message.includes(PASSWORD));
    assert.ok(!error.message.includes(PASSWORD));
  });

  it('hover, which the editor sends by itself, logs the failure and answers empty', async () => {
    const result = await lsp.connection.sendRequest(HoverRequest.type, {
      textDocument: null as never,
      position: { line: 0, character: 0 },
    });
    assert.equal(result, null);
    await errorLogLine('hover');
  });

  it('the server keeps serving after the failures', async () => {
    const configs = await lsp.connection.sendRequest(ListConfigsRequest.type, {});
    assert.deepEqual(
      configs.map((c) => c.uri),
      [uri],
    );
  });
});
