import { relative } from 'node:path';
import { TextDocument } from 'vscode-languageserver-textdocument';
import type { PoolDiagnostic } from '../core/capacity/rules';
import { blockingProblems, type LoadedConfig } from '../core/config/loadedConfig';

/** A finding with 1-based line and column, as `check` prints it and `--json` carries it. */
export interface LocatedFinding {
  line: number;
  column: number;
  endLine: number;
  endColumn: number;
  severity: PoolDiagnostic['severity'];
  code: PoolDiagnostic['code'];
  message: string;
  pool?: PoolDiagnostic['pool'];
  fixes?: { title: string; newSize: number }[];
}

export function locateFindings(
  config: Pick<LoadedConfig, 'path' | 'text'>,
  findings: readonly Pick<PoolDiagnostic, 'range' | 'severity' | 'code' | 'message' | 'pool' | 'fixes'>[],
): LocatedFinding[] {
  const document = TextDocument.create(config.path, 'yaml', 0, config.text);
  return findings.map((finding) => {
    const start = document.positionAt(finding.range.start);
    const end = document.positionAt(finding.range.end);
    return {
      line: start.line + 1,
      column: start.character + 1,
      endLine: end.line + 1,
      endColumn: end.character + 1,
      severity: finding.severity,
      code: finding.code,
      message: finding.message,
      pool: finding.pool,
      fixes: finding.fixes?.map((f) => ({ title: f.title, newSize: f.newSize })),
    };
  });
}

/** `file:line:col: severity code message`, the file relative to the current directory. */
export function formatFinding(path: string, finding: LocatedFinding): string {
  const shown = relative(process.cwd(), path) || path;
  return `${shown}:${finding.line}:${finding.column}: ${finding.severity} ${finding.code} ${finding.message}`;
}

/**
 * For `report` and `test`: a config that does not parse, or names a connection value that cannot
 * be used, is printed as `check` prints it (file:line:col first) and the command does not run:
 * probing what the parser kept would reach a server nobody configured. Returns true when it stopped.
 */
export function stopOnBrokenConfig(config: LoadedConfig, scrub: (text: string) => string): boolean {
  const problems = blockingProblems(config);
  if (problems.length === 0) return false;
  const located = locateFindings(
    config,
    problems.map((p) => ({ ...p, severity: 'error' as const })),
  );
  for (const finding of located) console.error(scrub(formatFinding(config.path, finding)));
  console.error(
    `pool-capacity: ${relative(process.cwd(), config.path) || config.path} has ${problems.length} error${problems.length === 1 ? '' : 's'} to fix first (\`pool-capacity check\` lists every finding)`,
  );
  return true;
}
