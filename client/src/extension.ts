import type * as vscode from 'vscode';
import { type PoolCapacityApi, PoolCapacityContext } from './poolCapacityContext';

let context: PoolCapacityContext | undefined;

export async function activate(extensionContext: vscode.ExtensionContext): Promise<PoolCapacityApi> {
  context = new PoolCapacityContext(extensionContext);
  return context.start();
}

export async function deactivate(): Promise<void> {
  await context?.stop();
  context = undefined;
}
