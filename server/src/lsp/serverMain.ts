import { createConnection, ProposedFeatures } from 'vscode-languageserver/node';
import { logProcessFailures } from './handlerSafety';
import { PoolCapacityServer } from './poolCapacityServer';

// The transport (--stdio, --node-ipc, --socket) comes from the command line; nothing else may
// write to stdout, which carries the protocol under --stdio. Log lines go through the connection.
const connection = createConnection(ProposedFeatures.all);
const server = new PoolCapacityServer(connection);
logProcessFailures(connection.console, (text) => server.scrub(text));
server.listen();
