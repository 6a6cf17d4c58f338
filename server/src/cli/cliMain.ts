import { Command, type CommanderError } from 'commander';
import { registerCheckCommand } from './checkCommand';
import { registerReportCommand } from './reportCommand';
import { registerTestCommand } from './testCommand';

const program = new Command('pool-capacity')
  .description('Check and load-test the PostgreSQL pool sizes in .claude-flow/config.yaml')
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
