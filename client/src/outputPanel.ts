import * as vscode from 'vscode';
import { outputBlock } from '../../shared/outputBlock';

/** The "Pool Capacity" output channel; its language colours the results tables (syntaxes/). */
export class OutputPanel implements vscode.Disposable {
  private readonly channel = vscode.window.createOutputChannel('Pool Capacity', 'pool-capacity-output');
  /** What was written, for the extension's test API (an output channel cannot be read back). */
  private written = '';

  /** One results block: a separator, the time and `title`, then the text with long lines broken. */
  append(text: string, title = 'Pool Capacity'): void {
    const block = outputBlock(text, title, new Date());
    this.channel.append(block);
    this.written += block;
  }

  show(): void {
    this.channel.show(true);
  }

  text(): string {
    return this.written;
  }

  dispose(): void {
    this.channel.dispose();
  }
}
