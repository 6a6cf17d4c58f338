import type { Command } from 'commander';

export function registerCheckCommand(program: Command): void {
  program.command('check').action(() => {
    throw new Error('not implemented yet');
  });
}
