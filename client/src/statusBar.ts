import * as vscode from 'vscode';
import type { ServerStatus, StatusParams } from '../../shared/protocol';
import { COMMANDS } from './commands';

/**
 * The live connection count of the configured servers, e.g. `$(database) 23/100`, driven by the
 * server's status notifications (the server polls over one kept-open connection per server).
 */
export class StatusBar implements vscode.Disposable {
  private readonly item = vscode.window.createStatusBarItem(
    'poolCapacity.status',
    vscode.StatusBarAlignment.Left,
    10,
  );

  constructor() {
    this.item.name = 'Pool Capacity';
    this.item.command = COMMANDS.showCapacityReport;
    this.item.text = '$(database) …';
    this.item.tooltip = 'Pool Capacity: reading the servers';
    this.item.show();
  }

  showUntrusted(): void {
    this.item.text = '$(shield) Pool Capacity';
    this.item.tooltip =
      'Restricted workspace: Pool Capacity connects to no database until you trust this workspace.';
    this.item.backgroundColor = undefined;
    this.item.command = 'workbench.trust.manage';
  }

  update(status: StatusParams): void {
    this.item.command = COMMANDS.showCapacityReport;
    if (status.state === 'untrusted') {
      this.showUntrusted();
      return;
    }
    if (status.state === 'off' || status.servers.length === 0) {
      this.item.text = '$(database) –';
      this.item.tooltip = 'Pool Capacity: no configured server to watch (or polling is off).';
      this.item.backgroundColor = undefined;
      return;
    }
    const reachable = status.servers.filter((s) => s.state === 'ok');
    const tooltip = new vscode.MarkdownString('', true);
    tooltip.isTrusted = { enabledCommands: [COMMANDS.showCapacityReport, COMMANDS.refreshServerInfo] };
    for (const server of status.servers) {
      tooltip.appendMarkdown(
        server.cluster
          ? `**${server.leader ? `${server.leader} (${server.serverKey}), leader` : 'no leader'}** of the Patroni cluster at ${server.cluster}`
          : `**${server.serverKey}**`,
      );
      if (server.state === 'ok') {
        tooltip.appendMarkdown(` — ${server.connections} of ${server.maxConnections} connections\n\n`);
        if (server.summary) tooltip.appendMarkdown(`${LEVEL_WORDS[server.level]}: ${server.summary}\n\n`);
        for (const [database, count] of Object.entries(server.perDatabase ?? {}).sort()) {
          tooltip.appendMarkdown(`- ${database}: ${count}\n`);
        }
      } else {
        tooltip.appendMarkdown(` — unreachable: ${server.error ?? 'unknown reason'}\n`);
      }
      const pools = server.pools.map((p) => `${p.name} ${p.poolSize ?? '?'}`).join(', ');
      tooltip.appendMarkdown(`\nPools: ${pools}\n\n`);
    }
    if (status.lastTest) tooltip.appendMarkdown(`Last test: ${status.lastTest}\n\n`);
    tooltip.appendMarkdown(
      `[Capacity report](command:${COMMANDS.showCapacityReport}) · [Refresh](command:${COMMANDS.refreshServerInfo})`,
    );
    this.item.tooltip = tooltip;

    if (reachable.length === 0) {
      this.item.text = '$(debug-disconnect) PostgreSQL unreachable';
      this.item.backgroundColor = new vscode.ThemeColor('statusBarItem.warningBackground');
      return;
    }
    // The language server picked the server to show and the level; this only renders them.
    const shown = reachable.find((s) => s.serverKey === status.focus) ?? reachable[0]!;
    const extra = status.servers.length > 1 ? ` (+${status.servers.length - 1})` : '';
    // A cluster's count is its current leader's, named so a failover shows in the item itself.
    const leader = shown.leader ? `${shown.leader} ` : '';
    this.item.text = `$(database) ${leader}${shown.connections}/${shown.maxConnections}${extra}`;
    this.item.backgroundColor =
      status.level === 'exceeds'
        ? new vscode.ThemeColor('statusBarItem.errorBackground')
        : status.level === 'low-headroom' || status.level === 'unreachable'
          ? new vscode.ThemeColor('statusBarItem.warningBackground')
          : undefined;
  }

  text(): string {
    return this.item.text;
  }

  tooltipText(): string {
    const tooltip = this.item.tooltip;
    return typeof tooltip === 'string' ? tooltip : (tooltip?.value ?? '');
  }

  dispose(): void {
    this.item.dispose();
  }
}

const LEVEL_WORDS: Record<ServerStatus['level'], string> = {
  ok: 'Pools fit',
  'low-headroom': 'Pools fit, inside the headroom',
  exceeds: 'Pools do not fit',
  unreachable: 'Unreachable',
};
