import { Command } from 'commander';
import { registerCheckCommand } from './checkCommand';
import { registerReportCommand } from './reportCommand';
import { registerTestCommand } from './testCommand';

const program = new Command('pool-capacity')
  .description('Check and load-test the PostgreSQL pool sizes in .claude-flow/config.yaml')
  .showHelpAfterError();

registerCheckCommand(program);
registerTestCommand(program);
registerReportCommand(program);

program.parseAsync(process.argv).catch((error: unknown) => {
  console.error(`pool-capacity: ${error instanceof Error ? error.message : String(error)}`);
  process.exitCode = 2;
});
