import { isMap, isScalar, type Node, type Pair, parseDocument, type YAMLMap } from 'yaml';
import type { ConfigDocument, ConfigValue, OffsetRange, PoolDeclaration, PoolName } from './poolConfig';

/** Keys of a pool mapping that say where and how it connects. */
export const CONNECTION_KEYS = [
  'host',
  'port',
  'database',
  'user',
  'password',
  'ssl',
  'sslmode',
  'sslrootcert',
  'sslcert',
  'sslkey',
] as const;

/** A top-level entry of the config with where its text starts. */
interface RootPair {
  pair: Pair;
  /** Offset of the entry's text in the whole config: node ranges are relative to it. */
  base: number;
}

interface ParsedBlock {
  pairs: Pair[];
  errors: { message: string; start: number; end: number }[];
}

/**
 * Parsed top-level entries by their text. Editing a config changes one entry at a time, so
 * revalidating a long file reparses only the entry that changed.
 */
const blockCache = new Map<string, ParsedBlock>();
const BLOCK_CACHE_LIMIT = 4000;

function parseBlock(text: string): ParsedBlock {
  const cached = blockCache.get(text);
  if (cached) return cached;
  const doc = parseDocument(text, { prettyErrors: false, uniqueKeys: false });
  const parsed: ParsedBlock = {
    pairs: isMap(doc.contents) ? doc.contents.items : [],
    errors: doc.errors.map((e) => ({
      message: e.message.split('\n')[0] ?? e.message,
      start: e.pos[0],
      end: e.pos[1],
    })),
  };
  if (blockCache.size >= BLOCK_CACHE_LIMIT) blockCache.delete(blockCache.keys().next().value as string);
  blockCache.set(text, parsed);
  return parsed;
}

/**
 * Splits a config at its top-level keys, or returns undefined where entries are not independent
 * (anchors and aliases, several documents, directives, a root that is not a mapping) and the
 * text must be parsed whole.
 */
export function topLevelBlocks(text: string): { start: number; text: string }[] | undefined {
  if (/^(?:---|\.\.\.|%)/m.test(text) || /(?:^|[\s[{,])[&*!][^\s,\]}]/.test(text) || /^[?-]/m.test(text)) {
    return undefined;
  }
  const starts: number[] = [0];
  const lineStart = /\n(?=[^\s#\-?])/g;
  for (let match = lineStart.exec(text); match; match = lineStart.exec(text)) starts.push(match.index + 1);
  // Comments and blank lines before the first key belong to the first entry.
  const blocks = starts.map((start, i) => ({ start, text: text.slice(start, starts[i + 1] ?? text.length) }));
  return blocks;
}

/**
 * Reads the pools out of a `.claude-flow/config.yaml` text, keeping every value's offsets.
 * Never throws: broken YAML yields syntax errors plus whatever pools could still be read.
 */
export function parseConfigDocument(text: string): ConfigDocument {
  const blocks = topLevelBlocks(text) ?? [{ start: 0, text }];
  const rootPairs: RootPair[] = [];
  const syntaxErrors: ConfigDocument['syntaxErrors'] = [];
  for (const block of blocks) {
    const parsed = parseBlock(block.text);
    for (const pair of parsed.pairs) rootPairs.push({ pair, base: block.start });
    for (const error of parsed.errors) {
      syntaxErrors.push({
        message: error.message,
        // A position past its own entry (the parser hit the entry's end) stays within the entry.
        range: clampRange(
          {
            start: block.start + Math.min(error.start, block.text.length),
            end: block.start + Math.min(error.end, block.text.length),
          },
          text,
        ),
      });
    }
  }
  const rootEntry = (key: string) => rootPairs.find((entry) => keyName(entry.pair) === key);
  const pools: PoolDeclaration[] = [];
  let layout: ConfigDocument['layout'] = 'none';

  const memoryEntry = rootEntry('memory');
  const memory = isMap(memoryEntry?.pair.value) ? memoryEntry.pair.value : undefined;
  const postgresql = mapAt(memory, 'postgresql');
  const memoryBase = memoryEntry?.base ?? 0;
  // Layout B puts the pools under `singleNode` (and adds `patroni`); where that block sits varies
  // between versions of the host tool, so look under memory.postgresql, memory and the top level.
  const inMemory = (map: YAMLMap | undefined) => (key: string) => {
    const pair = mapPair(map, key);
    return pair ? { pair, base: memoryBase } : undefined;
  };
  const containers: [(key: string) => RootPair | undefined, string[]][] = [
    [inMemory(postgresql), ['memory', 'postgresql']],
    [inMemory(memory), ['memory']],
    [rootEntry, []],
  ];
  for (const [entry, path] of containers) {
    const singleNode = entry('singleNode');
    const patroni = entry('patroni');
    if (!singleNode && !patroni) continue;
    layout = 'B';
    if (singleNode && isMap(singleNode.pair.value)) {
      for (const name of ['project', 'shared'] as const) {
        const pool = mapPair(singleNode.pair.value, name);
        if (pool)
          pools.push(declarePool(name, [...path, 'singleNode', name], pool, 'poolSize', singleNode.base));
      }
    }
    if (patroni)
      pools.push(declarePool('patroni', [...path, 'patroni'], patroni.pair, 'maxConnections', patroni.base));
    break;
  }
  if (layout === 'none' && postgresql) {
    for (const name of ['project', 'shared'] as const) {
      const pool = mapPair(postgresql, name);
      if (pool) {
        layout = 'A';
        pools.push(declarePool(name, ['memory', 'postgresql', name], pool, 'poolSize', memoryBase));
      }
    }
  }

  const swarm = rootEntry('swarm')?.pair.value;
  const maxAgentsNode = isMap(swarm) ? swarm.get('maxAgents', true) : undefined;
  const maxAgents =
    isScalar(maxAgentsNode) && Number.isInteger(maxAgentsNode.value) && (maxAgentsNode.value as number) >= 1
      ? (maxAgentsNode.value as number)
      : undefined;
  return { layout, pools, maxAgents, syntaxErrors };
}

function declarePool(
  name: PoolName,
  path: string[],
  pair: Pair,
  sizeKey: string,
  base: number,
): PoolDeclaration {
  const rangeOf = (node: Node): OffsetRange => {
    const [start, valueEnd] = node.range ?? [0, 0];
    return { start: base + start, end: base + valueEnd };
  };
  const keyRange = rangeOf(pair.key as Node);
  const map = isMap(pair.value) ? pair.value : undefined;
  const valueAt = (key: string): (ConfigValue & { key: string }) | undefined => {
    const valuePair = map?.items.find((item) => keyName(item) === key);
    if (!valuePair) return undefined;
    // `poolSize:` with nothing after it has a null value node (or none); point at the key then.
    const node = valuePair.value as Node | null;
    const range =
      node?.range && node.range[1] > node.range[0] ? rangeOf(node) : rangeOf(valuePair.key as Node);
    return { key, value: isScalar(node) ? node.value : (node?.toJSON() ?? null), range };
  };
  const connection: Record<string, ConfigValue> = {};
  for (const key of CONNECTION_KEYS) {
    const value = valueAt(key);
    if (value) connection[key] = value;
  }
  // Patroni's block names its sizes maxConnections/minConnections; the single pools call their
  // minimum `minConnections` or `minPoolSize` in some versions.
  const min = valueAt('minConnections') ?? valueAt('minPoolSize');
  return { name, path, keyRange, size: valueAt(sizeKey), min, connection };
}

function keyName(pair: Pair): string | undefined {
  return isScalar(pair.key) ? String(pair.key.value) : undefined;
}

function mapPair(map: YAMLMap | undefined, key: string): Pair | undefined {
  return map?.items.find((item) => keyName(item) === key);
}

function mapAt(map: YAMLMap | undefined, key: string): YAMLMap | undefined {
  const value = mapPair(map, key)?.value;
  return isMap(value) ? value : undefined;
}

function clampRange(range: OffsetRange, text: string): OffsetRange {
  let start = Math.max(0, Math.min(range.start, text.length));
  const end = Math.max(start, Math.min(range.end, text.length));
  if (start !== end) return { start, end };
  // A zero-width range is invisible in an editor: cover the character at the point, or where the
  // parser stopped at the end of an entry, the last character written before it.
  if (start < text.length && text[start] !== '\n' && (start === 0 || text[start - 1] !== '\n')) {
    return { start, end: start + 1 };
  }
  while (start > 0 && /\s/.test(text[start - 1]!)) start--;
  return start > 0 ? { start: start - 1, end: start } : { start: 0, end: Math.min(1, text.length) };
}
