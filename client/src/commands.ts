import { randomUUID } from 'node:crypto';
import * as vscode from 'vscode';
import type { LanguageClient } from 'vscode-languageclient/node';
import type { LoadTestOptions, LoadTestShape } from '../../shared/loadTest';
import {
  CapacityReportRequest,
  type ConfigSummary,
  ListConfigsRequest,
  LoadTestProgressNotification,
  RefreshServerInfoRequest,
  RunLoadTestRequest,
  type RunLoadTestResult,
} from '../../shared/protocol';
import type { OutputPanel } from './outputPanel';

/** Every contributed command; package.json `contributes.commands` lists the same ids. */
export const COMMANDS = {
  runCapacityTest: 'poolCapacity.runCapacityTest',
  runBurstTest: 'poolCapacity.runBurstTest',
  runSustainedTest: 'poolCapacity.runSustainedTest',
  showCapacityReport: 'poolCapacity.showCapacityReport',
  refreshServerInfo: 'poolCapacity.refreshServerInfo',
} as const;

export interface CommandDeps {
  client: () => LanguageClient | undefined;
  output: OutputPanel;
  isTrusted: () => boolean;
}

const UNTRUSTED =
  'Pool Capacity connects to no database in a restricted workspace. Trust the workspace to read servers and run tests.';

export function registerCommands(deps: CommandDeps): vscode.Disposable[] {
  const guarded = (action: (client: LanguageClient) => Promise<void>) => async (): Promise<void> => {
    if (!deps.isTrusted()) {
      void vscode.window.showWarningMessage(UNTRUSTED);
      return;
    }
    const client = deps.client();
    if (!client) {
      void vscode.window.showErrorMessage('Pool Capacity: the language server is not running.');
      return;
    }
    await action(client);
  };
  return [
    vscode.commands.registerCommand(
      COMMANDS.runCapacityTest,
      guarded((c) => runLoadTest(c, deps.output, 'capacity')),
    ),
    vscode.commands.registerCommand(
      COMMANDS.runBurstTest,
      guarded((c) => runLoadTest(c, deps.output, 'burst')),
    ),
    vscode.commands.registerCommand(
      COMMANDS.runSustainedTest,
      guarded((c) => runLoadTest(c, deps.output, 'sustained')),
    ),
    vscode.commands.registerCommand(
      COMMANDS.showCapacityReport,
      guarded(async (client) => {
        const config = await pickConfig(client);
        if (!config) return;
        const { text } = await vscode.window.withProgress(
          { location: vscode.ProgressLocation.Window, title: 'Pool Capacity: reading the servers' },
          () => client.sendRequest(CapacityReportRequest.type, { configUri: config.uri }),
        );
        deps.output.append(text);
        deps.output.show();
      }),
    ),
    vscode.commands.registerCommand(
      COMMANDS.refreshServerInfo,
      guarded(async (client) => {
        const { configs } = await vscode.window.withProgress(
          { location: vscode.ProgressLocation.Window, title: 'Pool Capacity: reading the servers' },
          () => client.sendRequest(RefreshServerInfoRequest.type, {}),
        );
        void vscode.window.setStatusBarMessage(
          `Pool Capacity: server info refreshed (${configs} config(s))`,
          3000,
        );
      }),
    ),
  ];
}

async function pickConfig(client: LanguageClient): Promise<ConfigSummary | undefined> {
  const configs = await client.sendRequest(ListConfigsRequest.type, {});
  if (configs.length === 0) {
    void vscode.window.showErrorMessage('Pool Capacity: no .claude-flow/config.yaml in this workspace.');
    return undefined;
  }
  if (configs.length === 1) return configs[0];
  const picked = await vscode.window.showQuickPick(
    configs.map((config) => ({
      label: vscode.workspace.asRelativePath(vscode.Uri.parse(config.uri)),
      config,
    })),
    { placeHolder: 'Which config?' },
  );
  return picked?.config;
}

async function askNumber(prompt: string, value: number, min = 1): Promise<number | undefined> {
  const answer = await vscode.window.showInputBox({
    title: 'Pool Capacity',
    prompt,
    value: String(value),
    validateInput: (text) =>
      /^\d+$/.test(text.trim()) && Number(text) >= min ? undefined : `A whole number of at least ${min}`,
  });
  return answer === undefined ? undefined : Number(answer.trim());
}

const SHAPE_TITLES: Record<LoadTestShape, string> = {
  capacity: 'pool capacity test',
  burst: 'burst test',
  sustained: 'sustained load test',
};

async function runLoadTest(client: LanguageClient, output: OutputPanel, shape: LoadTestShape): Promise<void> {
  const config = await pickConfig(client);
  if (!config) return;
  const agents = await askNumber(`Concurrent agents (target: ${config.targetAgents})`, config.targetAgents);
  if (agents === undefined) return;
  const durationMs = await askNumber('How long each agent holds its connection, in ms', 200, 0);
  if (durationMs === undefined) return;
  const options: Partial<LoadTestOptions> & Pick<LoadTestOptions, 'shape'> = { shape, agents, durationMs };

  let result = await runWithProgress(client, config, options);
  if (result?.outcome === 'refused') {
    const choice = await vscode.window.showWarningMessage(
      `Pool Capacity: ${result.message}`,
      { modal: true },
      'Run anyway',
    );
    if (choice !== 'Run anyway') return;
    result = await runWithProgress(client, config, { ...options, force: true });
  }
  if (!result) return;
  if (result.outcome === 'done') {
    output.append(result.table);
    output.show();
    const { report } = result;
    const summary = `Pool Capacity: ${report.verdict} — ${report.succeeded}/${report.agents} agents succeeded`;
    if (report.verdict === 'FAIL') void vscode.window.showErrorMessage(summary);
    else void vscode.window.showInformationMessage(summary);
  } else if (result.outcome !== 'refused') {
    output.append(`${SHAPE_TITLES[shape]}: ${result.message}`);
    void vscode.window.showErrorMessage(`Pool Capacity: ${result.message}`);
  }
}

function runWithProgress(
  client: LanguageClient,
  config: ConfigSummary,
  options: RunLoadTestParamsOptions,
): Thenable<RunLoadTestResult | undefined> {
  return vscode.window.withProgress(
    {
      location: vscode.ProgressLocation.Notification,
      title: `Pool Capacity: ${SHAPE_TITLES[options.shape]}`,
      cancellable: true,
    },
    async (progress, token) => {
      const progressId = randomUUID();
      let reported = 0;
      const listener = client.onNotification(LoadTestProgressNotification.type, (p) => {
        if (p.progressId !== progressId) return;
        const percent = p.total > 0 ? (100 * p.done) / p.total : 0;
        progress.report({ message: p.message, increment: Math.max(0, percent - reported) });
        reported = Math.max(reported, percent);
      });
      try {
        return await client.sendRequest(
          RunLoadTestRequest.type,
          { configUri: config.uri, options, progressId },
          token,
        );
      } catch (error) {
        if (token.isCancellationRequested) {
          void vscode.window.setStatusBarMessage(
            'Pool Capacity: test cancelled; its connections were closed',
            5000,
          );
          return undefined;
        }
        throw error;
      } finally {
        listener.dispose();
      }
    },
  );
}

type RunLoadTestParamsOptions = Partial<LoadTestOptions> & Pick<LoadTestOptions, 'shape'>;
