import * as vscode from 'vscode';

/** The "Pool Capacity" output channel; its language colours the results tables (syntaxes/). */
export class OutputPanel implements vscode.Disposable {
  private readonly channel = vscode.window.createOutputChannel('Pool Capacity', 'pool-capacity-output');
  /** What was written, for the extension's test API (an output channel cannot be read back). */
  private written = '';

  append(text: string): void {
    const block = text.endsWith('\n') ? text : `${text}\n`;
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
