import { type Diagnostic, DiagnosticSeverity, type Range } from 'vscode-languageserver';
import type { TextDocument } from 'vscode-languageserver-textdocument';
import type { PoolDiagnostic, Severity } from '../core/capacity/rules';
import type { OffsetRange } from '../core/config/poolConfig';

export const DIAGNOSTIC_SOURCE = 'pool-capacity';

const SEVERITY: Record<Severity, DiagnosticSeverity> = {
  error: DiagnosticSeverity.Error,
  warning: DiagnosticSeverity.Warning,
  information: DiagnosticSeverity.Information,
};

export function toRange(document: TextDocument, range: OffsetRange): Range {
  return { start: document.positionAt(range.start), end: document.positionAt(range.end) };
}

export function toLspDiagnostic(document: TextDocument, diagnostic: PoolDiagnostic): Diagnostic {
  return {
    source: DIAGNOSTIC_SOURCE,
    code: diagnostic.code,
    severity: SEVERITY[diagnostic.severity],
    message: diagnostic.message,
    range: toRange(document, diagnostic.range),
    // The other pools of the same sum, on their sizes.
    ...(diagnostic.related?.length
      ? {
          relatedInformation: diagnostic.related.map((r) => ({
            location: { uri: document.uri, range: toRange(document, r.range) },
            message: r.message,
          })),
        }
      : {}),
    // Quick fixes are recomputed from the diagnostic's data, so a code action needs no new probe.
    data: diagnostic.fixes?.length ? { fixes: diagnostic.fixes } : undefined,
  };
}
