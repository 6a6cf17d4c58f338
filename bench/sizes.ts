/**
 * 8. Sizes: the bundles that ship (dist/*.js from the production build) and the .vsix.
 * `npm run package` builds both; if packaging fails the .vsix is reported missing with the reason,
 * and dist/ comes from a plain production build so the rest of the benchmark still runs.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { type BenchRow, missingRow, summarize } from './measure';

const section = '8. Size';

function npm(root: string, args: string[]): { ok: boolean; output: string } {
  const result = spawnSync('npm', args, { cwd: root, encoding: 'utf8', timeout: 180_000 });
  return { ok: result.status === 0, output: `${result.stdout ?? ''}${result.stderr ?? ''}`.trim() };
}

/** The last lines that say what went wrong, without npm's own noise. */
function reason(output: string): string {
  const lines = output
    .split('\n')
    .map((l) => l.trim())
    .filter(
      (l) =>
        l &&
        !l.startsWith('>') &&
        !/^npm (ERR|error)! (A complete log|code|path|command|workspace|location)/.test(l),
    );
  return lines.slice(-2).join(' ').slice(0, 400) || 'no output';
}

export interface BuildOutcome {
  /** Why there is no fresh .vsix, when there is none. */
  vsixMissing?: string;
  builtAt: number;
}

/** Runs `npm run package` (production build + vsce); falls back to a production build alone. */
export function buildForBench(root: string, log: (line: string) => void, skip: boolean): BuildOutcome {
  const builtAt = Date.now();
  if (skip)
    return { builtAt, vsixMissing: 'not packaged in this run (--skip-build): existing dist/ measured' };
  log('building: npm run package ...');
  const packaged = npm(root, ['run', 'package']);
  if (packaged.ok) return { builtAt };
  const why = `npm run package failed: ${reason(packaged.output)}`;
  log(`  ${why}`);
  log('building: npm run build -- --production ...');
  const built = npm(root, ['run', 'build', '--', '--production']);
  if (!built.ok) throw new Error(`npm run build -- --production failed: ${reason(built.output)}`);
  return { builtAt, vsixMissing: why };
}

export function measureSizes(
  root: string,
  build: BuildOutcome,
): { rows: BenchRow[]; bytes: Record<string, number | null> } {
  const dist = path.join(root, 'dist');
  const rows: BenchRow[] = [];
  const bytes: Record<string, number | null> = {};
  const bundles = existsSync(dist)
    ? readdirSync(dist)
        .filter((f) => f.endsWith('.js'))
        .sort()
    : [];
  for (const file of bundles) {
    const size = statSync(path.join(dist, file)).size;
    bytes[`dist/${file}`] = size;
    rows.push({ section, label: `dist/${file} (production bundle)`, value: summarize([size], 'bytes') });
  }
  const vsix = path.join(root, 'pool-capacity.vsix');
  // Only a .vsix written by this run counts: an older one may not match the sources measured here.
  const fresh = existsSync(vsix) && statSync(vsix).mtimeMs >= build.builtAt;
  if (!build.vsixMissing && fresh) {
    const size = statSync(vsix).size;
    bytes['pool-capacity.vsix'] = size;
    rows.push({ section, label: 'pool-capacity.vsix', value: summarize([size], 'bytes') });
  } else {
    bytes['pool-capacity.vsix'] = null;
    rows.push(
      missingRow(
        section,
        'pool-capacity.vsix',
        build.vsixMissing ?? 'npm run package wrote no pool-capacity.vsix',
      ),
    );
  }
  return { rows, bytes };
}
