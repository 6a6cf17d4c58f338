/**
 * A workspace's `.claude-flow/config.yaml` for pools on a test cluster, as the integration tests
 * and demos write it: the layout our users keep (swarm, memory.backend, memory.postgresql.project
 * and .shared), with options for what a test varies. The text is plain YAML, so tests that compute
 * positions in it (diagnostics, quick fixes) can call `poolConfigYaml` and search the same text.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';

export interface PoolEntry {
  port: number;
  /** Default 127.0.0.1. */
  host?: string;
  /** Default postgres. */
  database?: string;
  /** Default app. */
  user?: string;
  /** The value as written, a `${VAR}` reference or a literal; default `${APP_DB_PASSWORD}`. */
  password?: string;
  sslmode?: string;
  /** Omitted: no poolSize line; a string is written as is (a value that is not a number). */
  poolSize?: number | string;
  /** Written after poolSize on its line, as `# comment`. */
  poolSizeComment?: string;
  /** Further keys of the pool, after poolSize, e.g. `connectionTimeout: 5000`. */
  extra?: string[];
}

export interface PoolConfigOptions {
  /** `swarm.maxAgents`; omitted: no swarm section. */
  maxAgents?: number;
  /** The `backend: postgresql` line; default true. */
  backend?: boolean;
  project?: PoolEntry;
  shared?: PoolEntry;
  /** Text after the pools (further top-level keys), as written. */
  tail?: string;
}

function poolLines(name: string, pool: PoolEntry): string {
  const lines = [
    `    ${name}:`,
    `      host: ${pool.host ?? '127.0.0.1'}`,
    `      port: ${pool.port}`,
    `      database: ${pool.database ?? 'postgres'}`,
    `      user: ${pool.user ?? 'app'}`,
    `      password: ${pool.password ?? '${APP_DB_PASSWORD}'}`,
  ];
  if (pool.sslmode !== undefined) lines.push(`      sslmode: ${pool.sslmode}`);
  if (pool.poolSize !== undefined)
    lines.push(`      poolSize: ${pool.poolSize}${pool.poolSizeComment ? ` # ${pool.poolSizeComment}` : ''}`);
  for (const line of pool.extra ?? []) lines.push(`      ${line}`);
  return `${lines.join('\n')}\n`;
}

/** The config's text. */
export function poolConfigYaml(options: PoolConfigOptions): string {
  let text = options.maxAgents === undefined ? '' : `swarm:\n  maxAgents: ${options.maxAgents}\n`;
  text += 'memory:\n';
  if (options.backend ?? true) text += '  backend: postgresql\n';
  text += '  postgresql:\n';
  if (options.project) text += poolLines('project', options.project);
  if (options.shared) text += poolLines('shared', options.shared);
  return text + (options.tail ?? '');
}

/** `.env` lines from names and values. */
export function dotenvText(env: Record<string, string>): string {
  return Object.entries(env)
    .map(([name, value]) => `${name}=${value}\n`)
    .join('');
}

/**
 * Writes `<workspace>/.claude-flow/config.yaml` (its folder made if missing) and, with `env`, the
 * workspace's `.env` beside it; returns the config's path.
 */
export function writePoolConfig(
  workspace: string,
  options: PoolConfigOptions & { env?: Record<string, string> },
): string {
  mkdirSync(path.join(workspace, '.claude-flow'), { recursive: true });
  if (options.env) writeFileSync(path.join(workspace, '.env'), dotenvText(options.env));
  const file = path.join(workspace, '.claude-flow', 'config.yaml');
  writeFileSync(file, poolConfigYaml(options));
  return file;
}
