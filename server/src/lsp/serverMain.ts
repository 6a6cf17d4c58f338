import { createConnection, ProposedFeatures } from 'vscode-languageserver/node';
import { PoolCapacityServer } from './poolCapacityServer';

// The transport (--stdio, --node-ipc, --socket) comes from the command line; nothing else may
// write to stdout, which carries the protocol under --stdio.
const connection = createConnection(ProposedFeatures.all);
new PoolCapacityServer(connection).listen();
