/**
 * What the editor asks of an open config: the hover over a pool, and the quick fixes carried by
 * the diagnostics (each checked against the text as it is now).
 */
import {
  type CodeAction,
  CodeActionKind,
  type Diagnostic,
  type Hover,
  type Position,
  type Range,
} from 'vscode-languageserver';
import type { TextDocument } from 'vscode-languageserver-textdocument';
import { poolHover } from '../core/capacity/poolHover';
import type { PoolSizeFix } from '../core/capacity/rules';
import type { ConfigRegistry } from './configRegistry';
import { DIAGNOSTIC_SOURCE, toLspDiagnostic, toRange } from './lspConvert';

/** The hover over a pool of an open config, when the config's last validation is of this text. */
export function configHover(registry: ConfigRegistry, uri: string, position: Position): Hover | null {
  const entry = registry.entry(uri);
  const document = registry.documents.get(uri);
  if (!entry?.loaded || !entry.settings || !document || document.getText() !== entry.loaded.text) return null;
  const found = poolHover(
    entry.loaded,
    entry.outcomes,
    entry.settings,
    document.offsetAt(position),
    registry.trusted,
  );
  if (!found) return null;
  return {
    // Through the config's one scrubber, as every diagnostic: a failure message may echo a secret.
    contents: {
      kind: 'markdown' as const,
      value: entry.loaded.scrub(found.markdown, Number.POSITIVE_INFINITY),
    },
    range: toRange(document, found.range),
  };
}

/**
 * The quick fixes for a code action request, from the server's own findings of this text: those
 * the client's diagnostics point at (by code and range; `data` is not needed, as not every client
 * echoes it back), else those under the requested range. When the text has changed since the last
 * validation, the fixes the diagnostics carry in `data` are used, each checked against the text.
 */
export function quickFixes(
  registry: ConfigRegistry,
  uri: string,
  range: Range,
  diagnostics: readonly Diagnostic[],
): CodeAction[] {
  const document = registry.documents.get(uri);
  if (!document) return [];
  const ours = diagnostics.filter((d) => d.source === DIAGNOSTIC_SOURCE);
  const entry = registry.entry(uri);
  const text = document.getText();
  if (!entry?.findings || entry.loaded?.text !== text) return fixesFromData(document, ours);
  const found = entry.findings.filter((f) => f.fixes?.length);
  const pairs: { diagnostic: Diagnostic; fixes: PoolSizeFix[] }[] = [];
  if (ours.length > 0) {
    for (const diagnostic of ours) {
      const finding = found.find(
        (f) => f.code === diagnostic.code && sameRange(toRange(document, f.range), diagnostic.range),
      );
      if (finding) pairs.push({ diagnostic, fixes: finding.fixes! });
    }
  } else {
    for (const finding of found) {
      if (overlaps(toRange(document, finding.range), range))
        pairs.push({ diagnostic: toLspDiagnostic(document, finding), fixes: finding.fixes! });
    }
  }
  return pairs.flatMap(({ diagnostic, fixes }) =>
    fixes.map((fix, i) => action(document, diagnostic, fix, i)),
  );
}

/** The fixes carried in `data`, skipping one whose edited value has moved since. */
function fixesFromData(document: TextDocument, diagnostics: readonly Diagnostic[]): CodeAction[] {
  const text = document.getText();
  return diagnostics.flatMap((diagnostic) =>
    ((diagnostic.data as { fixes?: PoolSizeFix[] } | undefined)?.fixes ?? [])
      .filter((fix) =>
        [fix, ...(fix.alsoEdits ?? [])].every((e) => /^\d+$/.test(text.slice(e.range.start, e.range.end))),
      )
      .map((fix, index) => action(document, diagnostic, fix, index)),
  );
}

function action(document: TextDocument, diagnostic: Diagnostic, fix: PoolSizeFix, index: number): CodeAction {
  return {
    title: fix.title,
    kind: CodeActionKind.QuickFix,
    diagnostics: [diagnostic],
    isPreferred: index === 0,
    edit: {
      changes: {
        [document.uri]: [fix, ...(fix.alsoEdits ?? [])].map((e) => ({
          range: toRange(document, e.range),
          newText: String(e.newSize),
        })),
      },
    },
  };
}

const before = (a: Position, b: Position) =>
  a.line < b.line || (a.line === b.line && a.character < b.character);

function sameRange(a: Range, b: Range): boolean {
  return (
    a.start.line === b.start.line &&
    a.start.character === b.start.character &&
    a.end.line === b.end.line &&
    a.end.character === b.end.character
  );
}

/** Whether two ranges share a position (a cursor at either end of a finding counts). */
function overlaps(a: Range, b: Range): boolean {
  return !before(a.end, b.start) && !before(b.end, a.start);
}
