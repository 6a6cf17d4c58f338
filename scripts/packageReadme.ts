// The README the .vsix carries (`npm run package` passes it to vsce with --readme-path). VS Code shows
// an installed extension's README in a webview that loads images only from https: and data: URLs, and
// resolves no relative link against the extension's folder. Our users may be offline (code-server on a
// closed network) and this product has no public repository to point https: links at, so the images
// are inlined as data: URLs, and relative links to files the page cannot open become plain text.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { repoRoot } from '../harness/codeServer';

export const packagedReadme = path.join(repoRoot, 'dist', 'README.vsix.md');

const imageTypes: Record<string, string> = { '.png': 'image/png', '.jpg': 'image/jpeg', '.gif': 'image/gif' };

/** README text with relative images inlined (read through `readImage`) and relative links unlinked. */
export function inlineReadme(readme: string, readImage: (relativePath: string) => Buffer): string {
  const images = readme.replace(
    /!\[([^\]]*)\]\(((?![a-z]+:)[^)\s]+)\)/g,
    (_, alt: string, target: string) => {
      const type = imageTypes[path.extname(target).toLowerCase()];
      if (!type) throw new Error(`README image ${target}: only PNG, JPEG and GIF can be inlined`);
      return `![${alt}](data:${type};base64,${readImage(target).toString('base64')})`;
    },
  );
  return images.replace(/(?<!!)\[([^\]]+)\]\(((?![a-z]+:|#)[^)\s]+)\)/g, '$1');
}

if (require.main === module) {
  const readme = fs.readFileSync(path.join(repoRoot, 'README.md'), 'utf8');
  fs.mkdirSync(path.dirname(packagedReadme), { recursive: true });
  fs.writeFileSync(
    packagedReadme,
    inlineReadme(readme, (target) => fs.readFileSync(path.join(repoRoot, target))),
  );
}
