import type { ConnectionTarget } from '../connection/connectionTarget';
import type { TargetResolution } from './connectionSettings';

/** Half-open offset range [start, end) in the config text; converted to line/col only at the edges. */
export interface OffsetRange {
  start: number;
  end: number;
}

/** Which pool of the host tool: the layouts name them `project`, `shared` and `patroni`. */
export type PoolName = 'project' | 'shared' | 'patroni';

/** A scalar value from the YAML together with where it stands. */
export interface ConfigValue<T = unknown> {
  value: T;
  range: OffsetRange;
}

/** One pool as written in the config (before any environment or server is consulted). */
export interface PoolDeclaration {
  name: PoolName;
  /** YAML path of the pool's mapping, e.g. ['memory', 'postgresql', 'project']. */
  path: string[];
  /** Range of the pool's key (where a "could not verify" finding goes). */
  keyRange: OffsetRange;
  /** From the pool's key to the end of its value: a syntax error inside it means its keys may be lost. */
  extent: OffsetRange;
  /** poolSize (layout A / singleNode) or maxConnections (patroni). */
  size?: ConfigValue & { key: string };
  /** minConnections where the layout has one. */
  min?: ConfigValue & { key: string };
  /** Connection keys as written (host, port, database, user, password, ssl, sslmode, ...). */
  connection: Record<string, ConfigValue>;
  /** The patroni block's own keys as written (enabled, apiHosts, apiPort, apiTimeout, failoverTimeout, ...). */
  patroni?: Record<string, ConfigValue>;
}

export interface ConfigSyntaxError {
  message: string;
  range: OffsetRange;
}

export interface ConfigDocument {
  layout: 'A' | 'B' | 'none';
  /** Layout B's `mode` (single-node | patroni-ha) as written, next to singleNode and patroni. */
  mode?: ConfigValue;
  pools: PoolDeclaration[];
  /** swarm.maxAgents when it is a positive integer. */
  maxAgents?: number;
  syntaxErrors: ConfigSyntaxError[];
  /** Set when the text is longer than MAX_CONFIG_CHARS: then nothing was parsed. */
  tooLarge?: { length: number };
}

/** A pool with its connection fully resolved, as the probe, the budget and the load test use it. */
export interface ResolvedPool {
  declaration: PoolDeclaration;
  name: PoolName;
  /** Valid integer >= 1, or undefined when missing or invalid (an invalid-pool-size diagnostic says why). */
  poolSize?: number;
  minSize?: number;
  /** Why the size (or min) given is not usable, read with the same variables as the size itself. */
  poolSizeProblem?: string;
  minSizeProblem?: string;
  target: ConnectionTarget;
  /** Where each connection setting came from, and what could not be resolved. */
  resolution: TargetResolution;
}
