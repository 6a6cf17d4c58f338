import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

/** Folders never worth walking for a config. */
const SKIPPED = new Set([
  'node_modules',
  '.git',
  'dist',
  'out',
  '.venv',
  'venv',
  '__pycache__',
  '.vscode-test',
]);
const MAX_DEPTH = 6;

export function isConfigPath(path: string): boolean {
  return /(^|[\\/])\.claude-flow[\\/]config\.ya?ml$/.test(path);
}

/** Every `.claude-flow/config.y(a)ml` under a folder, so configs are checked without being opened. */
export async function findConfigFiles(folder: string): Promise<string[]> {
  const found: string[] = [];
  const walk = async (dir: string, depth: number): Promise<void> => {
    let entries: import('node:fs').Dirent[];
    try {
      entries = await readdir(dir, { withFileTypes: true });
    } catch {
      return;
    }
    await Promise.all(
      entries.map(async (entry) => {
        if (!entry.isDirectory()) return;
        const path = join(dir, entry.name);
        if (entry.name === '.claude-flow') {
          for (const name of ['config.yaml', 'config.yml']) {
            const file = join(path, name);
            if (
              await readFile(file, 'utf8').then(
                () => true,
                () => false,
              )
            )
              found.push(file);
          }
        } else if (!SKIPPED.has(entry.name) && depth < MAX_DEPTH) {
          await walk(path, depth + 1);
        }
      }),
    );
  };
  await walk(folder, 0);
  return found.sort();
}

export function uriToPath(uri: string): string | undefined {
  try {
    return uri.startsWith('file:') ? fileURLToPath(uri) : undefined;
  } catch {
    return undefined;
  }
}

export function pathToUri(path: string): string {
  return pathToFileURL(path).toString();
}
