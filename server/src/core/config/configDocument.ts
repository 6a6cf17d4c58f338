import { isMap, isScalar, type Node, type Pair, parseDocument, type YAMLMap } from 'yaml';
import type { ConfigDocument, ConfigValue, OffsetRange, PoolDeclaration, PoolName } from './poolConfig';
import { ECHO_LIMIT, passwordValueSpans, scrubberOf, writtenPasswords } from './secretScrubber';

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

/** Keys of the patroni block besides its connection and sizes. */
export const PATRONI_KEYS = ['enabled', 'apiHosts', 'apiPort', 'apiTimeout', 'failoverTimeout'] as const;

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
 * The largest config this product reads, in characters. Real configs are a few kilobytes; a
 * parse tree costs 20-40 bytes per character, so this keeps one validation in tens of megabytes.
 * A longer text gets a `config-too-large` finding and is not parsed at all.
 */
export const MAX_CONFIG_CHARS = 1024 * 1024;

/**
 * Parsed top-level entries, one slot per config and entry (its key and how many entries before it
 * had the same key), so an edit replaces that entry's tree instead of adding one. Editing changes
 * one entry at a time, so revalidating a long file reparses only the entry that changed. Bounded by
 * the characters the trees were parsed from (their size follows), and by slots.
 */
const blockCache = new Map<string, { text: string; parsed: ParsedBlock }>();
export const BLOCK_CACHE_CHARS = MAX_CONFIG_CHARS;
const BLOCK_CACHE_SLOTS = 512;
let blockCacheChars = 0;

/** What the block cache holds now (for tests and the benchmark). */
export function blockCacheUsage(): { slots: number; chars: number } {
  return { slots: blockCache.size, chars: blockCacheChars };
}

function parseBlock(slot: string, text: string): ParsedBlock {
  const cached = blockCache.get(slot);
  if (cached) {
    blockCache.delete(slot);
    blockCacheChars -= cached.text.length;
    if (cached.text === text) {
      // Most recently used goes last: eviction takes the first.
      blockCache.set(slot, cached);
      blockCacheChars += text.length;
      return cached.parsed;
    }
  }
  const doc = parseDocument(text, { prettyErrors: false, uniqueKeys: false });
  const parsed: ParsedBlock = {
    pairs: isMap(doc.contents) ? doc.contents.items : [],
    errors: doc.errors.map((e) => ({
      message: e.message.split('\n')[0] ?? e.message,
      start: e.pos[0],
      end: e.pos[1],
    })),
  };
  if (text.length <= BLOCK_CACHE_CHARS) {
    blockCache.set(slot, { text, parsed });
    blockCacheChars += text.length;
    while (blockCacheChars > BLOCK_CACHE_CHARS || blockCache.size > BLOCK_CACHE_SLOTS) {
      const [oldest, entry] = blockCache.entries().next().value as [string, { text: string }];
      blockCache.delete(oldest);
      blockCacheChars -= entry.text.length;
    }
  }
  return parsed;
}

/** Forget every parsed entry (tests start from an empty cache). */
export function clearBlockCache(): void {
  blockCache.clear();
  blockCacheChars = 0;
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
 * `source` (the config's path) names the cache slots, so two configs do not share them.
 */
export function parseConfigDocument(text: string, source = ''): ConfigDocument {
  if (text.length > MAX_CONFIG_CHARS) {
    return { layout: 'none', pools: [], syntaxErrors: [], tooLarge: { length: text.length } };
  }
  const { rootPairs, syntaxErrors } = parseRootPairs(text, source);
  const rootEntry = (key: string) => rootPairs.find((entry) => keyName(entry.pair) === key);
  const { layout, mode, pools } = readPools(rootEntry);
  const swarm = rootEntry('swarm')?.pair.value;
  const maxAgentsNode = isMap(swarm) ? swarm.get('maxAgents', true) : undefined;
  const maxAgents =
    isScalar(maxAgentsNode) && Number.isInteger(maxAgentsNode.value) && (maxAgentsNode.value as number) >= 1
      ? (maxAgentsNode.value as number)
      : undefined;
  return { layout, ...(mode ? { mode } : {}), pools, maxAgents, syntaxErrors };
}

/** The top-level pairs, each top-level block parsed (and cached) on its own, and their syntax errors. */
function parseRootPairs(
  text: string,
  source: string,
): { rootPairs: RootPair[]; syntaxErrors: ConfigDocument['syntaxErrors'] } {
  const blocks = topLevelBlocks(text);
  const rootPairs: RootPair[] = [];
  const syntaxErrors: ConfigDocument['syntaxErrors'] = [];
  const seen = new Map<string, number>();
  const secrets = passwordValueSpans(text);
  const written = writtenPasswords(text);
  for (const block of blocks ?? [{ start: 0, text }]) {
    const head = blocks ? (/^[^\s#][^:\n]*/m.exec(block.text)?.[0] ?? '') : '\0whole';
    const nth = seen.get(head) ?? 0;
    seen.set(head, nth + 1);
    const parsed = parseBlock(`${source}\0${head}\0${nth}`, block.text);
    for (const pair of parsed.pairs) rootPairs.push({ pair, base: block.start });
    for (const error of parsed.errors) {
      // A position past its own entry (the parser hit the entry's end) stays within the entry.
      const range = clampRange(
        {
          start: block.start + Math.min(error.start, block.text.length),
          end: block.start + Math.min(error.end, block.text.length),
        },
        text,
      );
      syntaxErrors.push({ message: safeParserMessage(error.message, range, secrets, written), range });
    }
  }
  return { rootPairs, syntaxErrors };
}

/** The pools of layout B (singleNode/patroni) or, failing that, of layout A (memory.postgresql). */
function readPools(
  rootEntry: (key: string) => RootPair | undefined,
): Pick<ConfigDocument, 'layout' | 'mode' | 'pools'> {
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
    const layoutB = readLayoutB(entry, path);
    if (layoutB) return layoutB;
  }
  const pools: PoolDeclaration[] = [];
  for (const name of ['project', 'shared'] as const) {
    const pool = postgresql && mapPair(postgresql, name);
    if (pool) pools.push(declarePool(name, ['memory', 'postgresql', name], pool, 'poolSize', memoryBase));
  }
  return { layout: pools.length > 0 ? 'A' : 'none', pools };
}

/** Layout B's pools in one container (memory.postgresql, memory or the top level), if it has them. */
function readLayoutB(
  entry: (key: string) => RootPair | undefined,
  path: string[],
): Pick<ConfigDocument, 'layout' | 'mode' | 'pools'> | undefined {
  const singleNode = entry('singleNode');
  const patroni = entry('patroni');
  if (!singleNode && !patroni) return undefined;
  const pools: PoolDeclaration[] = [];
  let mode: ConfigValue | undefined;
  const modeEntry = entry('mode');
  const modeNode = modeEntry?.pair.value as Node | null | undefined;
  if (modeEntry && isScalar(modeNode) && modeNode.range)
    mode = {
      value: modeNode.value,
      range: { start: modeEntry.base + modeNode.range[0], end: modeEntry.base + modeNode.range[1] },
    };
  if (singleNode && isMap(singleNode.pair.value)) {
    for (const name of ['project', 'shared'] as const) {
      const pool = mapPair(singleNode.pair.value, name);
      if (pool)
        pools.push(declarePool(name, [...path, 'singleNode', name], pool, 'poolSize', singleNode.base));
    }
  }
  if (patroni)
    pools.push(declarePool('patroni', [...path, 'patroni'], patroni.pair, 'maxConnections', patroni.base));
  return { layout: 'B', ...(mode ? { mode } : {}), pools };
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
  const valueNode = pair.value as Node | null;
  const extent = {
    start: keyRange.start,
    end: Math.max(keyRange.end, valueNode?.range ? rangeOf(valueNode).end : keyRange.end),
  };
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
  const declaration: PoolDeclaration = {
    name,
    path,
    keyRange,
    extent,
    size: valueAt(sizeKey),
    min,
    connection,
  };
  if (name === 'patroni') {
    // Where the cluster's REST API is and how long to wait for it (server/src/core/cluster/patroniSettings.ts).
    declaration.patroni = {};
    for (const key of PATRONI_KEYS) {
      const value = valueAt(key);
      if (value) declaration.patroni[key] = value;
    }
  }
  return declaration;
}

/**
 * The parser quotes the text it stumbled on; where that is a password, say where and why without
 * quoting it (an unquoted password starting with `|` or `>` is a broken block scalar to YAML).
 */
function safeParserMessage(
  message: string,
  range: OffsetRange,
  secrets: { start: number; end: number }[],
  written: string[],
): string {
  if (secrets.some((span) => range.start <= span.end && range.end >= span.start - 1)) {
    return 'the value of a password key is not valid YAML (its text is not shown); quote it, e.g. password: "…"';
  }
  const scrubbed = scrubberOf(written)(message);
  return scrubbed.length > 2 * ECHO_LIMIT ? `${scrubbed.slice(0, 2 * ECHO_LIMIT)}…` : scrubbed;
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
