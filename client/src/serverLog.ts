import * as vscode from 'vscode';
import { type LogMessageParams, MessageType } from 'vscode-languageclient/node';

/** The language server's log, apart from the results channel ("Pool Capacity", outputPanel.ts). */
export const SERVER_LOG_NAME = 'Pool Capacity (server)';

/**
 * A log channel with levels: the user picks what to see ("Set Log Level..."), and the language
 * client writes its own lines and, with `poolCapacity.trace.server`, the protocol trace into it.
 */
export function createServerLog(): vscode.LogOutputChannel {
  return vscode.window.createOutputChannel(SERVER_LOG_NAME, { log: true });
}

/**
 * Writes one `window/logMessage` from the server at its level. vscode-languageclient 9 would
 * append every level as a plain line (at Info), so an error could not be told from chatter.
 */
export function logServerMessage(log: vscode.LogOutputChannel, { type, message }: LogMessageParams): void {
  switch (type) {
    case MessageType.Error:
      log.error(message);
      break;
    case MessageType.Warning:
      log.warn(message);
      break;
    case MessageType.Debug:
      log.debug(message);
      break;
    default:
      // Info and Log: both are the server's ordinary account of what it did.
      log.info(message);
  }
}
