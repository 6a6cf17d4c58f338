/**
 * The longest functions of the product code (server/src, client/src, shared), by body lines: a
 * room over ~80 lines is one to split. `--max N` exits 1 when any function is longer than N.
 *
 *   node --import tsx scripts/functionLengths.ts [--top 20] [--max 80]
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import ts from 'typescript';

const ROOTS = ['server/src', 'client/src', 'shared'];
const root = join(__dirname, '..');

function argument(name: string): number | undefined {
  const at = process.argv.indexOf(name);
  return at < 0 ? undefined : Number(process.argv[at + 1]);
}

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return sourceFiles(path);
    return entry.name.endsWith('.ts') ? [path] : [];
  });
}

interface Measured {
  lines: number;
  where: string;
  name: string;
}

function nameOf(node: ts.FunctionLikeDeclaration): string {
  if (ts.isConstructorDeclaration(node)) return 'constructor';
  if (node.name) return node.name.getText();
  const parent = node.parent;
  if (ts.isVariableDeclaration(parent) || ts.isPropertyAssignment(parent)) return parent.name.getText();
  return '<anonymous>';
}

function measure(path: string): Measured[] {
  const source = ts.createSourceFile(path, readFileSync(path, 'utf8'), ts.ScriptTarget.Latest, true);
  const found: Measured[] = [];
  const visit = (node: ts.Node) => {
    if (ts.isFunctionLike(node) && 'body' in node && node.body && ts.isBlock(node.body)) {
      const fn = node as ts.FunctionLikeDeclaration;
      const start = source.getLineAndCharacterOfPosition(node.body.getStart()).line;
      const end = source.getLineAndCharacterOfPosition(node.body.getEnd()).line;
      let owner = node.parent;
      while (owner && !ts.isClassDeclaration(owner)) owner = owner.parent;
      const className = owner && ts.isClassDeclaration(owner) && owner.name ? `${owner.name.text}.` : '';
      found.push({
        lines: end - start - 1,
        where: `${relative(root, path)}:${start + 1}`,
        name: className + nameOf(fn),
      });
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  return found;
}

const all = ROOTS.flatMap((dir) => sourceFiles(join(root, dir)).flatMap(measure)).sort(
  (a, b) => b.lines - a.lines,
);
const max = argument('--max');
for (const m of all.slice(0, argument('--top') ?? 20))
  console.log(`${String(m.lines).padStart(4)}  ${m.name}  ${m.where}`);
if (max !== undefined && all.some((m) => m.lines > max)) {
  console.error(`${all.filter((m) => m.lines > max).length} function(s) over ${max} lines`);
  process.exitCode = 1;
}
