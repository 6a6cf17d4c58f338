import type { Command } from 'commander';

export function registerTestCommand(program: Command): void {
  program.command('test').action(() => {
    throw new Error('not implemented yet');
  });
}
