/**
 * What the editor asks of an open config: the hover over a pool, and the quick fixes carried by
 * the diagnostics (each checked against the text as it is now).
 */
import { CodeActionKind, type Diagnostic, type Hover, type Position } from 'vscode-languageserver';
import type { TextDocument } from 'vscode-languageserver-textdocument';
import { poolHover } from '../capacity/poolHover';
import type { PoolSizeFix } from '../capacity/rules';
import type { ConfigRegistry } from './configRegistry';
import { DIAGNOSTIC_SOURCE, toRange } from './lspConvert';

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

/** The quick fixes of our diagnostics, skipping a fix whose edited value has moved since. */
export function quickFixes(document: TextDocument | undefined, diagnostics: readonly Diagnostic[]) {
  if (!document) return [];
  const uri = document.uri;
  const text = document.getText();
  return diagnostics
    .filter((d) => d.source === DIAGNOSTIC_SOURCE)
    .flatMap((diagnostic) => {
      const fixes = ((diagnostic.data as { fixes?: PoolSizeFix[] } | undefined)?.fixes ?? []).filter(
        // The fix was computed for this text; skip it if a value it edits has moved since.
        (fix) =>
          [fix, ...(fix.alsoEdits ?? [])].every((e) => /^\d+$/.test(text.slice(e.range.start, e.range.end))),
      );
      return fixes.map((fix, index) => ({
        title: fix.title,
        kind: CodeActionKind.QuickFix,
        diagnostics: [diagnostic],
        isPreferred: index === 0,
        edit: {
          changes: {
            [uri]: [fix, ...(fix.alsoEdits ?? [])].map((e) => ({
              range: toRange(document, e.range),
              newText: String(e.newSize),
            })),
          },
        },
      }));
    });
}
