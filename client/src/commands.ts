import { randomUUID } from 'node:crypto';
import * as vscode from 'vscode';
import type { LanguageClient } from 'vscode-languageclient/node';
import { defaultSweepRange, type SweepRange } from '../../shared/dashboard';
import { type LoadTestShape, loadTestDefaults } from '../../shared/loadTest';
import {
  CapacityReportRequest,
  type ConfigSummary,
  ListConfigsRequest,
  LoadTestProgressNotification,
  RefreshServerInfoRequest,
  type RunLoadTestOptions,
  RunLoadTestRequest,
  type RunLoadTestResult,
  RunSweepRequest,
} from '../../shared/protocol';
import type { CapacityDashboard } from './dashboardPanel';
import type { OutputPanel } from './outputPanel';

/** Every contributed command; package.json `contributes.commands` lists the same ids. */
export const COMMANDS = {
  runCapacityTest: 'poolCapacity.runCapacityTest',
  runBurstTest: 'poolCapacity.runBurstTest',
  runSustainedTest: 'poolCapacity.runSustainedTest',
  showCapacityReport: 'poolCapacity.showCapacityReport',
  refreshServerInfo: 'poolCapacity.refreshServerInfo',
  openDashboard: 'poolCapacity.openDashboard',
  runCapacitySweep: 'poolCapacity.runCapacitySweep',
} as const;

export interface CommandDeps {
  client: () => LanguageClient | undefined;
  output: OutputPanel;
  /** The server log: a request that failed is written here with its cause. */
  log: vscode.LogOutputChannel;
  isTrusted: () => boolean;
  dashboard: CapacityDashboard;
}

/**
 * The server says why a test was refused (in words true on every surface); the way ahead in the
 * editor is this modal's button, which sends the request again with `force`.
 */
async function confirmRunAnyway(refusal: string): Promise<boolean> {
  const choice = await vscode.window.showWarningMessage(
    `Pool Capacity: ${refusal} To go ahead anyway, choose Run anyway.`,
    { modal: true },
    'Run anyway',
  );
  return choice === 'Run anyway';
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
    try {
      await action(client);
    } catch (error) {
      // The server answered with an error (it logged the details on its side) or went away.
      const message = error instanceof Error ? error.message : String(error);
      deps.log.error(message);
      void vscode.window.showErrorMessage(
        message.startsWith('Pool Capacity') ? message : `Pool Capacity: ${message}`,
      );
    }
  };
  return [
    vscode.commands.registerCommand(
      COMMANDS.runCapacityTest,
      guarded((c) => runLoadTest(c, deps, 'capacity')),
    ),
    vscode.commands.registerCommand(
      COMMANDS.runBurstTest,
      guarded((c) => runLoadTest(c, deps, 'burst')),
    ),
    vscode.commands.registerCommand(
      COMMANDS.runSustainedTest,
      guarded((c) => runLoadTest(c, deps, 'sustained')),
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
        deps.output.append(text, 'capacity report');
        deps.output.show();
        // The same plan as a picture (the status bar item's click lands here too).
        await deps.dashboard.open(config, true);
      }),
    ),
    vscode.commands.registerCommand(
      COMMANDS.openDashboard,
      guarded(async (client) => {
        const config = await pickConfig(client);
        if (config) await deps.dashboard.open(config);
      }),
    ),
    vscode.commands.registerCommand(
      COMMANDS.runCapacitySweep,
      guarded((c) => runCapacitySweep(c, deps)),
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

async function runLoadTest(client: LanguageClient, deps: CommandDeps, shape: LoadTestShape): Promise<void> {
  const { output } = deps;
  const config = await pickConfig(client);
  if (!config) return;
  // The server decided the target (ListConfigs); offered here, not decided again.
  const agents = await askNumber(`Concurrent agents (target: ${config.targetAgents})`, config.targetAgents);
  if (agents === undefined) return;
  const durationMs = await askNumber(
    'How long each agent holds its connection, in ms',
    loadTestDefaults.durationMs,
    0,
  );
  if (durationMs === undefined) return;
  const options: RunLoadTestOptions = { shape, agents, durationMs };

  let result = await runWithProgress(client, config, options);
  if (result?.outcome === 'refused') {
    if (!(await confirmRunAnyway(result.message))) return;
    result = await runWithProgress(client, config, { ...options, force: true });
  }
  if (!result) return;
  if (result.outcome === 'done') {
    output.append(result.table, SHAPE_TITLES[shape]);
    output.show();
    const { report } = result;
    // The server charted the run and saved it to the history: the dashboard shows it.
    void deps.dashboard.showRun(config);
    const summary = `Pool Capacity: ${report.verdict} — ${report.succeeded}/${report.agents} agents succeeded`;
    if (report.verdict === 'FAIL') void vscode.window.showErrorMessage(summary);
    else void vscode.window.showInformationMessage(summary);
  } else if (result.outcome !== 'refused') {
    output.append(`${SHAPE_TITLES[shape]}: ${result.message}`, SHAPE_TITLES[shape]);
    void vscode.window.showErrorMessage(`Pool Capacity: ${result.message}`);
  }
}

function runWithProgress(
  client: LanguageClient,
  config: ConfigSummary,
  options: RunLoadTestOptions,
): Thenable<RunLoadTestResult | undefined> {
  return withTestProgress(client, SHAPE_TITLES[options.shape], (progressId, token) =>
    client.sendRequest(RunLoadTestRequest.type, { configUri: config.uri, options, progressId }, token),
  );
}

/** A sweep's agent counts: "10..80" and a step, with a default around the pool size. */
async function askSweepRange(config: ConfigSummary): Promise<SweepRange | undefined> {
  const project = config.pools.find((p) => p.name === 'project')?.poolSize ?? config.targetAgents;
  const suggested = defaultSweepRange(config);
  const answer = await vscode.window.showInputBox({
    title: 'Pool Capacity: capacity sweep',
    prompt: `Agent counts FROM..TO (the project pool holds ${project})`,
    value: `${suggested.from}..${suggested.to}`,
    validateInput: (text) => (/^\s*\d+\s*\.\.\s*\d+\s*$/.test(text) ? undefined : 'FROM..TO, e.g. 10..80'),
  });
  if (answer === undefined) return undefined;
  const [from, to] = answer.split('..').map((n) => Number(n.trim())) as [number, number];
  const by = await askNumber('Agents added per step', suggested.step);
  return by === undefined ? undefined : { from, to, step: by };
}

async function runCapacitySweep(client: LanguageClient, deps: CommandDeps): Promise<void> {
  const config = await pickConfig(client);
  if (!config) return;
  const range = await askSweepRange(config);
  if (!range) return;
  const durationMs = await askNumber(
    'How long each agent holds its connection, in ms',
    loadTestDefaults.durationMs,
    0,
  );
  if (durationMs === undefined) return;
  const send = (force: boolean) =>
    withTestProgress(client, 'capacity sweep', (progressId, token) =>
      client.sendRequest(
        RunSweepRequest.type,
        { configUri: config.uri, options: { durationMs, force }, range, progressId },
        token,
      ),
    );
  let result = await send(false);
  if (result?.outcome === 'refused') {
    if (!(await confirmRunAnyway(result.message))) return;
    result = await send(true);
  }
  if (!result) return;
  if (result.outcome === 'done') {
    deps.output.append(result.table, 'capacity sweep');
    deps.output.show();
    await deps.dashboard.showRun(config);
    const { sweep } = result;
    const summary = `Pool Capacity: sweep ${sweep.verdict} — ${sweep.steps.length} steps${sweep.stoppedAt ? `, stopped at ${sweep.stoppedAt.agents} agents` : ''}`;
    if (sweep.verdict === 'FAIL') void vscode.window.showErrorMessage(summary);
    else void vscode.window.showInformationMessage(summary);
  } else if (result.outcome !== 'refused') {
    deps.output.append(`capacity sweep: ${result.message}`, 'capacity sweep');
    void vscode.window.showErrorMessage(`Pool Capacity: ${result.message}`);
  }
}

/**
 * A cancellable progress notification around a test request. It resolves (and the notification
 * closes) before the caller shows the result, so the two never stand on top of each other.
 */
function withTestProgress<R>(
  client: LanguageClient,
  title: string,
  send: (progressId: string, token: vscode.CancellationToken) => Promise<R>,
): Thenable<R | undefined> {
  return vscode.window.withProgress(
    {
      location: vscode.ProgressLocation.Notification,
      title: `Pool Capacity: ${title}`,
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
        return await send(progressId, token);
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
