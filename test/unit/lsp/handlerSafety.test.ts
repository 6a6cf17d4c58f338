import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CancellationTokenSource, ErrorCodes, LSPErrorCodes, ResponseError } from 'vscode-languageserver';
import { type ServerLog, safeNotification, safeRequest } from '../../../server/src/lsp/handlerSafety';

/** A log that keeps its lines by level, in place of the connection's console. */
function recordingLog() {
  const lines: { level: keyof ServerLog; message: string }[] = [];
  const log: ServerLog = {
    error: (message) => lines.push({ level: 'error', message }),
    warn: (message) => lines.push({ level: 'warn', message }),
    info: (message) => lines.push({ level: 'info', message }),
    log: (message) => lines.push({ level: 'log', message }),
  };
  return { log, lines };
}

const scrubSecret = (text: string) => text.split('s3cret-pw').join('***');
const token = () => new CancellationTokenSource().token;

describe('safeRequest', () => {
  it('passes a result through and logs nothing', async () => {
    const { log, lines } = recordingLog();
    const handler = safeRequest(log, scrubSecret, 'listConfigs', async (n: number) => n + 1);
    assert.equal(await handler(1, token()), 2);
    assert.deepEqual(lines, []);
  });

  it('turns an exception into an error response and an error line with the stack, scrubbed', async () => {
    const { log, lines } = recordingLog();
    const handler = safeRequest(log, scrubSecret, 'capacityReport', async () => {
      throw new Error('could not read postgres://agent:pw123@db:5432/x with s3cret-pw');
    });
    const answer = await handler(undefined, token());
    assert.ok(answer instanceof ResponseError);
    assert.equal(answer.code, ErrorCodes.InternalError);
    assert.equal(
      answer.message,
      'Pool Capacity: capacityReport failed: could not read postgres://agent:***@db:5432/x with ***',
    );
    assert.equal(lines.length, 1);
    assert.equal(lines[0]!.level, 'error');
    assert.match(
      lines[0]!.message,
      /^capacityReport failed: Error: could not read postgres:\/\/agent:\*\*\*@/,
    );
    assert.match(lines[0]!.message, /\n\s+at /);
    assert.ok(!lines[0]!.message.includes('s3cret-pw') && !lines[0]!.message.includes('pw123'));
  });

  it('catches a synchronous throw too', async () => {
    const { log, lines } = recordingLog();
    const handler = safeRequest(log, scrubSecret, 'refreshServerInfo', () => {
      throw new TypeError('boom');
    });
    assert.ok((await handler(undefined, token())) instanceof ResponseError);
    assert.equal(lines[0]!.level, 'error');
  });

  it('answers a quiet request (hover) with its empty result, still logging the failure', async () => {
    const { log, lines } = recordingLog();
    const handler = safeRequest(
      log,
      scrubSecret,
      'hover',
      (): string | null => {
        throw new Error('no document');
      },
      () => null,
    );
    assert.equal(await handler(undefined, token()), null);
    assert.equal(lines[0]!.level, 'error');
  });

  it('answers a request cancelled meanwhile as cancelled, logged at info', async () => {
    const { log, lines } = recordingLog();
    const source = new CancellationTokenSource();
    const handler = safeRequest(log, scrubSecret, 'runLoadTest', async () => {
      source.cancel();
      throw new Error('aborted');
    });
    const answer = await handler(undefined, source.token);
    assert.ok(answer instanceof ResponseError);
    assert.equal(answer.code, LSPErrorCodes.RequestCancelled);
    assert.deepEqual(
      lines.map((l) => l.level),
      ['info'],
    );
  });

  it('passes a ResponseError the handler chose through unchanged and unlogged', async () => {
    const { log, lines } = recordingLog();
    const chosen = new ResponseError(ErrorCodes.InvalidParams, 'configUri is missing');
    const handler = safeRequest(log, scrubSecret, 'capacityReport', async () => {
      throw chosen;
    });
    assert.equal(await handler(undefined, token()), chosen);
    assert.deepEqual(lines, []);
  });
});

describe('safeNotification', () => {
  it('logs a rejected promise of a notification handler at error level', async () => {
    const { log, lines } = recordingLog();
    const failure = Promise.reject(new Error('scan failed'));
    const handler = safeNotification(log, scrubSecret, 'initialized', () => failure);
    handler();
    await failure.catch(() => undefined);
    // The wrapper's own catch was attached first, so it has run by now.
    assert.equal(lines.length, 1);
    assert.match(lines[0]!.message, /^initialized failed: Error: scan failed/);
  });
});
