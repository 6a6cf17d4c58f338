import { relative } from 'node:path';
import type { Command } from 'commander';
import { TextDocument } from 'vscode-languageserver-textdocument';
import { checkConfig } from '../capacity/configCheck';
import { FactsCache } from '../capacity/factsCache';
import type { PoolDiagnostic } from '../capacity/rules';
import {
  addSettingsFlags,
  configPathFrom,
  loadCliConfig,
  type SettingsFlags,
  settingsFrom,
} from './cliOptions';

interface CheckFlags extends SettingsFlags {
  json?: boolean;
}

/** `pool-capacity check`: the editor's diagnostics, for CI. Exit 1 on any error, 2 when it cannot run. */
export function registerCheckCommand(program: Command): void {
  addSettingsFlags(
    program
      .command('check')
      .description('check the pool sizes in a config against the live servers')
      .argument('[config]', 'config file', undefined)
      .option('--json', 'print the findings as JSON'),
  ).action(async (configArgument: string | undefined, flags: CheckFlags) => {
    const path = configPathFrom(configArgument);
    const settings = settingsFrom(flags);
    const config = await loadCliConfig(path, settings);
    if (!config) {
      process.exitCode = 2;
      return;
    }
    const { diagnostics } = await checkConfig(config, new FactsCache(), settings, { allowConnect: true });
    const document = TextDocument.create(path, 'yaml', 0, config.text);
    const located = diagnostics.map((d) => locate(document, d));
    if (flags.json) {
      console.log(
        JSON.stringify({ config: path, targetAgents: config.targetAgents, diagnostics: located }, null, 2),
      );
    } else {
      const shown = relative(process.cwd(), path) || path;
      for (const d of located) {
        console.log(`${shown}:${d.line}:${d.column}: ${d.severity} ${d.code} ${d.message}`);
      }
      const errors = located.filter((d) => d.severity === 'error').length;
      const warnings = located.filter((d) => d.severity === 'warning').length;
      console.log(
        `${errors} error${errors === 1 ? '' : 's'}, ${warnings} warning${warnings === 1 ? '' : 's'}`,
      );
    }
    process.exitCode = located.some((d) => d.severity === 'error') ? 1 : 0;
  });
}

function locate(document: TextDocument, diagnostic: PoolDiagnostic) {
  const start = document.positionAt(diagnostic.range.start);
  const end = document.positionAt(diagnostic.range.end);
  return {
    line: start.line + 1,
    column: start.character + 1,
    endLine: end.line + 1,
    endColumn: end.character + 1,
    severity: diagnostic.severity,
    code: diagnostic.code,
    message: diagnostic.message,
    pool: diagnostic.pool,
    fixes: diagnostic.fixes?.map((f) => ({ title: f.title, newSize: f.newSize })),
  };
}
