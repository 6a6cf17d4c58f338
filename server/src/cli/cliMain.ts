import { Command, type CommanderError } from 'commander';
import { version } from '../../../package.json';
import { registerCheckCommand } from './checkCommand';
import { registerReportCommand } from './reportCommand';
import { registerTestCommand } from './testCommand';

const program = new Command('pool-capacity')
  .description('Check and load-test the PostgreSQL pool sizes in .claude-flow/config.yaml')
  .version(version, '-V, --version', 'print the version')
  .addHelpText(
    'after',
    '\nEvery command reads .claude-flow/config.yaml under the current directory, or the config given as\n' +
      'an argument or with --config. Examples:\n' +
      "  pool-capacity check .claude-flow/config.yaml      # the editor's findings; exit 1 on errors\n" +
      '  pool-capacity report --config ci/config.yaml      # server facts and planning numbers\n' +
      '  pool-capacity test 35 .claude-flow/config.yaml    # 35 agents at once against the project pool\n' +
      "\nRun `pool-capacity <command> --help` for a command's options.",
  )
  // Usage errors are "cannot run", like a missing config: one line (no help dump), exit 2
  // (commander's own default is 1, which CI would read as "the check found errors"). Commands
  // registered below inherit this.
  .showHelpAfterError(false)
  .exitOverride((error: CommanderError) => {
    process.exit(error.exitCode === 0 ? 0 : 2);
  });

registerCheckCommand(program);
registerTestCommand(program);
registerReportCommand(program);

program.parseAsync(process.argv).catch((error: unknown) => {
  console.error(`pool-capacity: ${error instanceof Error ? error.message : String(error)}`);
  process.exitCode = 2;
});
