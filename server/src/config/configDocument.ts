import { isMap, isScalar, LineCounter, type Node, type Pair, parseDocument, type YAMLMap } from 'yaml';
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

/**
 * Reads the pools out of a `.claude-flow/config.yaml` text, keeping every value's offsets.
 * Never throws: broken YAML yields syntax errors plus whatever pools could still be read.
 */
export function parseConfigDocument(text: string): ConfigDocument {
  const doc = parseDocument(text, { prettyErrors: false, lineCounter: new LineCounter(), uniqueKeys: false });
  const syntaxErrors = doc.errors.map((error) => ({
    message: error.message.split('\n')[0] ?? error.message,
    range: clampRange({ start: error.pos[0], end: error.pos[1] }, text.length),
  }));
  const root = isMap(doc.contents) ? doc.contents : undefined;
  const pools: PoolDeclaration[] = [];
  let layout: ConfigDocument['layout'] = 'none';

  const memory = mapAt(root, 'memory');
  const postgresql = mapAt(memory, 'postgresql');
  // Layout B puts the pools under `singleNode` (and adds `patroni`); where that block sits varies
  // between versions of the host tool, so look under memory.postgresql, memory and the top level.
  const containers: [YAMLMap | undefined, string[]][] = [
    [postgresql, ['memory', 'postgresql']],
    [memory, ['memory']],
    [root, []],
  ];
  for (const [container, path] of containers) {
    const singleNode = mapPair(container, 'singleNode');
    const patroni = mapPair(container, 'patroni');
    if (!singleNode && !patroni) continue;
    layout = 'B';
    if (singleNode && isMap(singleNode.value)) {
      for (const name of ['project', 'shared'] as const) {
        const pool = mapPair(singleNode.value, name);
        if (pool) pools.push(declarePool(name, [...path, 'singleNode', name], pool, 'poolSize'));
      }
    }
    if (patroni) pools.push(declarePool('patroni', [...path, 'patroni'], patroni, 'maxConnections'));
    break;
  }
  if (layout === 'none' && postgresql) {
    for (const name of ['project', 'shared'] as const) {
      const pool = mapPair(postgresql, name);
      if (pool) {
        layout = 'A';
        pools.push(declarePool(name, ['memory', 'postgresql', name], pool, 'poolSize'));
      }
    }
  }

  const maxAgentsNode = mapAt(root, 'swarm')?.get('maxAgents', true);
  const maxAgents =
    isScalar(maxAgentsNode) && Number.isInteger(maxAgentsNode.value) && (maxAgentsNode.value as number) >= 1
      ? (maxAgentsNode.value as number)
      : undefined;
  return { layout, pools, maxAgents, syntaxErrors };
}

function declarePool(name: PoolName, path: string[], pair: Pair, sizeKey: string): PoolDeclaration {
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

function rangeOf(node: Node): OffsetRange {
  const [start, valueEnd] = node.range ?? [0, 0];
  return { start, end: valueEnd };
}

function clampRange(range: OffsetRange, length: number): OffsetRange {
  const start = Math.max(0, Math.min(range.start, length));
  const end = Math.max(start, Math.min(range.end, length));
  // A zero-width range is invisible in an editor: cover the character at (or before) the point.
  if (start === end) return end < length ? { start, end: end + 1 } : { start: Math.max(0, start - 1), end };
  return { start, end };
}
