/**
 * The standard-LSP way to run what the VS Code client offers in its palette: every ServerCommands
 * command is a `workspace/executeCommand` command, with its progress as work-done `$/progress`
 * (cancellable) and its result as `window/showMessage`, the written report opened with
 * `window/showDocument`. Any LSP client can run them; they call the same engine as the VS Code
 * client's custom requests.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  type CancellationToken,
  CancellationTokenSource,
  type ClientCapabilities,
  type Connection,
  type ExecuteCommandParams,
  MessageType,
  ShowMessageNotification,
  type WorkDoneProgressReporter,
} from 'vscode-languageserver';
import { defaultSweepRange, type SweepRange } from '../../../shared/dashboard';
import type { LoadTestShape } from '../../../shared/loadTest';
import {
  type ConfigSummary,
  type ServerCommand,
  type ServerCommandArguments,
  type ServerCommandResult,
  ServerCommands,
} from '../../../shared/protocol';
import type { LoadTestProgress } from '../io/loadtest/engine';
import type { ConfigRegistry } from './configRegistry';
import { pathToUri } from './configWorkspace';
import type { LoadTestSession } from './loadTestSession';

/** Said when a command would connect in a workspace the client has not declared trusted. */
export const NOT_TRUSTED_COMMAND =
  'Pool Capacity connects to no database: this workspace is not trusted. Start the language server with initializationOptions { "trusted": true } to read servers and run tests (see the README, "Other editors").';

const TESTS: Partial<Record<ServerCommand, { shape: LoadTestShape; title: string }>> = {
  [ServerCommands.runCapacityTest]: { shape: 'capacity', title: 'pool capacity test' },
  [ServerCommands.runBurstTest]: { shape: 'burst', title: 'burst test' },
  [ServerCommands.runSustainedTest]: { shape: 'sustained', title: 'sustained load test' },
};

const TITLES: Record<ServerCommand, string> = {
  [ServerCommands.runCapacityTest]: 'pool capacity test',
  [ServerCommands.runBurstTest]: 'burst test',
  [ServerCommands.runSustainedTest]: 'sustained load test',
  [ServerCommands.runCapacitySweep]: 'capacity sweep',
  [ServerCommands.showCapacityReport]: 'capacity report',
  [ServerCommands.refreshServerInfo]: 'reading the servers',
};

/** Where the reports go: a folder of this user's, files only they can read. */
const REPORT_DIR = join(tmpdir(), `pool-capacity-reports-${process.getuid?.() ?? 'user'}`);

/** The command's argument: a config uri, or ServerCommandArguments; a message when it is neither. */
export function parseCommandArguments(args: unknown[] | undefined): ServerCommandArguments | string {
  const first = args?.[0];
  if (first === undefined || first === null) return {};
  if (typeof first === 'string') return { configUri: first };
  if (typeof first !== 'object' || Array.isArray(first))
    return 'the argument must be a config uri or an object such as { "configUri": "file:///…", "agents": 20 }';
  const raw = first as Record<string, unknown>;
  const count = (key: string, min: number): number | undefined | string => {
    const value = raw[key];
    if (value === undefined) return undefined;
    return typeof value === 'number' && Number.isInteger(value) && value >= min
      ? value
      : `"${key}" must be a whole number of at least ${min}`;
  };
  const agents = count('agents', 1);
  const durationMs = count('durationMs', 0);
  for (const problem of [agents, durationMs]) if (typeof problem === 'string') return problem;
  if (raw.configUri !== undefined && typeof raw.configUri !== 'string') return '"configUri" must be a string';
  if (raw.force !== undefined && typeof raw.force !== 'boolean') return '"force" must be true or false';
  let range: SweepRange | undefined;
  if (raw.range !== undefined) {
    const r = raw.range as Record<string, unknown>;
    const ok = ['from', 'to', 'step'].every(
      (k) => typeof r?.[k] === 'number' && Number.isInteger(r[k]) && (r[k] as number) >= 1,
    );
    if (!ok || (r.from as number) > (r.to as number))
      return '"range" must be { "from": N, "to": M, "step": S } with 1 ≤ N ≤ M and S ≥ 1';
    range = { from: r.from as number, to: r.to as number, step: r.step as number };
  }
  return {
    configUri: raw.configUri as string | undefined,
    agents: agents as number | undefined,
    durationMs: durationMs as number | undefined,
    force: raw.force as boolean | undefined,
    range,
  };
}

export { defaultSweepRange };

export class ServerCommandRunner {
  /** The commands listed in `executeCommandProvider`. */
  static readonly commands: string[] = Object.values(ServerCommands);

  constructor(
    private readonly connection: Connection,
    private readonly registry: ConfigRegistry,
    private readonly loadTests: LoadTestSession,
    private readonly capabilities: () => ClientCapabilities,
  ) {}

  async execute(params: ExecuteCommandParams, token: CancellationToken): Promise<ServerCommandResult> {
    const command = params.command as ServerCommand;
    if (!ServerCommandRunner.commands.includes(command))
      return this.finish({ outcome: 'error', message: `Pool Capacity: unknown command ${params.command}.` });
    if (!this.registry.trusted) return this.finish({ outcome: 'error', message: NOT_TRUSTED_COMMAND });
    const args = parseCommandArguments(params.arguments);
    if (typeof args === 'string')
      return this.finish({ outcome: 'error', message: `Pool Capacity: ${params.command}: ${args}.` });
    if (command === ServerCommands.refreshServerInfo) {
      const configs = await this.registry.refresh();
      return this.finish({
        outcome: 'done',
        message: `Pool Capacity: server info refreshed (${configs} config(s)).`,
      });
    }
    const config = await this.pickConfig(args.configUri);
    if (typeof config === 'string') return this.finish({ outcome: 'error', message: config });

    // The client's own token when it gave one, else one we create (cancellable by the user).
    const reporter: WorkDoneProgressReporter & { token?: CancellationToken } =
      params.workDoneToken !== undefined
        ? this.connection.window.attachWorkDoneProgress(params.workDoneToken)
        : await this.connection.window.createWorkDoneProgress();
    const cancel = new CancellationTokenSource();
    const listeners = [token, reporter.token]
      .filter((t): t is CancellationToken => t !== undefined)
      .map((t) => t.onCancellationRequested(() => cancel.cancel()));
    reporter.begin(`Pool Capacity: ${TITLES[command]}`, 0, 'starting', true);
    const onProgress = (p: LoadTestProgress) =>
      reporter.report(p.total > 0 ? Math.round((100 * p.done) / p.total) : 0, p.message);
    try {
      return this.finish(await this.run(command, config, args, cancel.token, onProgress));
    } finally {
      for (const listener of listeners) listener.dispose();
      cancel.dispose();
      reporter.done();
    }
  }

  private async run(
    command: ServerCommand,
    config: ConfigSummary,
    args: ServerCommandArguments,
    token: CancellationToken,
    onProgress: (p: LoadTestProgress) => void,
  ): Promise<ServerCommandResult> {
    const configUri = config.uri;
    const test = TESTS[command];
    if (test) {
      const result = await this.loadTests.run(
        {
          configUri,
          options: { shape: test.shape, agents: args.agents, durationMs: args.durationMs, force: args.force },
          progressId: '',
        },
        token,
        onProgress,
      );
      if (result.outcome !== 'done') return this.notDone(command, result);
      const { report } = result;
      const reportUri = await this.writeReport(`${test.shape}-test`, result.table);
      if (report.cancelled)
        return {
          outcome: 'error',
          reportUri,
          message: `Pool Capacity: ${test.title} cancelled; the connections it opened were closed (${report.succeeded}/${report.agents} agents had succeeded). Report: ${reportUri}`,
        };
      return {
        outcome: 'done',
        verdict: report.verdict,
        reportUri,
        message: `Pool Capacity: ${test.title} ${report.verdict}: ${report.succeeded}/${report.agents} agents succeeded. Report: ${reportUri}`,
      };
    }
    if (command === ServerCommands.runCapacitySweep) {
      const range = args.range ?? defaultSweepRange(config);
      const result = await this.loadTests.sweep(
        { configUri, options: { durationMs: args.durationMs, force: args.force }, range, progressId: '' },
        token,
        onProgress,
      );
      if (result.outcome !== 'done') return this.notDone(command, result);
      const { sweep } = result;
      const reportUri = await this.writeReport('capacity-sweep', result.table);
      return {
        outcome: 'done',
        verdict: sweep.verdict,
        reportUri,
        message: `Pool Capacity: capacity sweep ${sweep.verdict}: ${sweep.steps.length} step(s)${sweep.stoppedAt ? `, stopped at ${sweep.stoppedAt.agents} agents` : ''}. Report: ${reportUri}`,
      };
    }
    // showCapacityReport: the servers read afresh, as the VS Code command does.
    this.registry.facts.clear();
    const { text } = await this.loadTests.capacityReport(configUri);
    const reportUri = await this.writeReport('capacity-report', text);
    return { outcome: 'done', reportUri, message: `Pool Capacity: capacity report written to ${reportUri}` };
  }

  private notDone(
    command: ServerCommand,
    result: { outcome: 'refused' | 'error'; message: string },
  ): ServerCommandResult {
    if (result.outcome === 'refused')
      return {
        outcome: 'refused',
        message: `Pool Capacity: ${result.message} To run it anyway, run ${command} again with the argument { "force": true }.`,
      };
    if (result.message === 'Cancelled.')
      return {
        outcome: 'error',
        message: `Pool Capacity: ${TITLES[command]} cancelled; the connections it opened were closed.`,
      };
    return { outcome: 'error', message: `Pool Capacity: ${TITLES[command]}: ${result.message}` };
  }

  /** The config named, else the workspace's only one; a message saying what to pass otherwise. */
  private async pickConfig(uri: string | undefined): Promise<ConfigSummary | string> {
    const configs = await this.registry.summaries();
    if (uri) {
      const found = configs.find((c) => c.uri === uri);
      if (found) return found;
      const loaded = await this.registry.loadedConfig(uri);
      if (!loaded) return `Pool Capacity: cannot read the config ${uri}.`;
      return { uri, targetAgents: loaded.loaded.targetAgents, pools: [] };
    }
    if (configs.length === 1) return configs[0]!;
    if (configs.length === 0) return 'Pool Capacity: no .claude-flow/config.yaml in this workspace.';
    return `Pool Capacity: ${configs.length} configs in this workspace; pass the one to use as the command's argument: ${configs.map((c) => c.uri).join(', ')}`;
  }

  /** A report as a file the user's editor can open (`window/showDocument`). */
  private async writeReport(name: string, text: string): Promise<string> {
    await mkdir(REPORT_DIR, { recursive: true, mode: 0o700 });
    const stamp = new Date().toISOString().replace(/[:.]/g, '-');
    const path = join(REPORT_DIR, `${name}-${stamp}.txt`);
    await writeFile(path, `${text}\n`, { mode: 0o600 });
    const uri = pathToUri(path);
    if (this.capabilities().window?.showDocument?.support === true) {
      // The user's editor decides how to show it; the command does not wait for that.
      this.connection.window.showDocument({ uri, takeFocus: true }).catch(() => undefined);
    }
    return uri;
  }

  /** Every result is also said to the user, so a client that ignores the answer still shows it. */
  private finish(result: ServerCommandResult): ServerCommandResult {
    const type =
      result.outcome === 'error' || result.verdict === 'FAIL'
        ? MessageType.Error
        : result.outcome === 'refused' || result.verdict === 'WARN'
          ? MessageType.Warning
          : MessageType.Info;
    void this.connection.sendNotification(ShowMessageNotification.type, { type, message: result.message });
    return result;
  }
}
