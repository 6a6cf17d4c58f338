import {
  type CancellationToken,
  ErrorCodes,
  LSPErrorCodes,
  type RemoteConsole,
  ResponseError,
} from 'vscode-languageserver';
import { redact } from '../core/config/secretScrubber';

/**
 * Where the language server's log lines go: the connection's console, i.e. `window/logMessage`
 * with a level, which the client shows in its "Pool Capacity (server)" log channel. Never stdout
 * (it carries the protocol under --stdio) and never `console.*`.
 */
export type ServerLog = Pick<RemoteConsole, 'error' | 'warn' | 'info' | 'log'>;

/** Removes the passwords the server knows of from a message before it is logged or answered. */
export type LogScrub = (text: string) => string;

/** An error as one log entry: the stack when there is one (it says where), else the message. */
export function describeError(error: unknown, withStack = true): string {
  if (error instanceof Error) return (withStack && error.stack) || error.message;
  return String(error);
}

/**
 * Wraps a request handler so that an exception is logged (with its stack) and answered with an
 * error response naming the request, instead of an unexplained failure the user never sees
 * the cause of. A request the client cancelled meanwhile is answered as cancelled, at info level.
 *
 * `quietResult`: for requests the editor sends by itself (hover, code actions), where an error
 * response would pop up a notification on every mouse move, the failure is logged and this
 * empty answer given instead.
 */
export function safeRequest<P, R>(
  log: ServerLog,
  scrub: LogScrub,
  name: string,
  handler: (params: P, token: CancellationToken) => R | Promise<R>,
  quietResult?: () => R,
): (params: P, token: CancellationToken) => Promise<R | ResponseError<void>> {
  return async (params, token) => {
    try {
      return await handler(params, token);
    } catch (error) {
      if (error instanceof ResponseError) return error;
      const clean = (text: string) => scrub(redact(text));
      if (token.isCancellationRequested) {
        log.info(`${name} cancelled: ${clean(describeError(error, false))}`);
        return new ResponseError(LSPErrorCodes.RequestCancelled, `${name} was cancelled`);
      }
      log.error(`${name} failed: ${clean(describeError(error))}`);
      if (quietResult) return quietResult();
      return new ResponseError(
        ErrorCodes.InternalError,
        `Pool Capacity: ${name} failed: ${clean(describeError(error, false))}`,
      );
    }
  };
}

/** Wraps a notification handler (nothing to answer): an exception becomes an error log line. */
export function safeNotification<P extends unknown[]>(
  log: ServerLog,
  scrub: LogScrub,
  name: string,
  handler: (...params: P) => unknown,
): (...params: P) => void {
  return (...params) => {
    const logFailure = (error: unknown) =>
      log.error(`${name} failed: ${scrub(redact(describeError(error)))}`);
    try {
      const result = handler(...params);
      if (result instanceof Promise) result.catch(logFailure);
    } catch (error) {
      logFailure(error);
    }
  };
}

/**
 * Keeps the process alive and the cause visible: an unhandled rejection or uncaught exception is
 * logged instead of ending the server without a word (Node's default for both).
 */
export function logProcessFailures(log: ServerLog, scrub: LogScrub = (t) => t): void {
  const report = (what: string, error: unknown) => {
    try {
      log.error(`${what}: ${scrub(redact(describeError(error)))}`);
    } catch {
      // The connection itself is gone; the client notices the closed stream and says so.
    }
  };
  process.on('unhandledRejection', (reason) => report('unhandled rejection', reason));
  process.on('uncaughtException', (error) => report('uncaught exception', error));
}
