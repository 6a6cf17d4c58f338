import type { Command } from 'commander';

export function registerReportCommand(program: Command): void {
  program.command('report').action(() => {
    throw new Error('not implemented yet');
  });
}
