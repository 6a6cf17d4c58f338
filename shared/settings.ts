/**
 * The `poolCapacity.*` settings, shared by the client (which reads them from VS Code), the language
 * server (which receives them) and the CLI (which takes the same defaults). A unit test keeps
 * `package.json` `contributes.configuration` in agreement with `settingsDefaults`.
 */
export interface PoolCapacitySettings {
  /** Concurrent agents a pool must serve; null = `swarm.maxAgents` from the config, else 35. */
  targetAgents: number | null;
  /** Warn when less than this share (0..1) of the server's usable slots would stay free. */
  headroomThreshold: number;
  /**
   * How long a connection attempt may take, in ms. It also sets the query timeout: a query on an
   * open connection may take twice this, at least 2 s (server/src/io/db/openConnection.ts queryTimeoutMs).
   */
  connectTimeoutMs: number;
  /** How long server facts read by a probe stay fresh, in ms. */
  factsMaxAgeMs: number;
  /** Status bar poll interval in ms; 0 turns polling off. */
  statusPollIntervalMs: number;
  /** A load test must leave this share (0..1) of the usable slots free... */
  safetyMarginRatio: number;
  /** ...and at least this many slots. */
  safetyMarginMin: number;
  /** Hosts a load test may target without confirmation. */
  loadTestAllowedHosts: string[];
  /**
   * Hosts that may ask for the password in clear text or as MD5 over a connection whose TLS is not
   * verified (libpq's `require_auth` idea); any other host does not get it. Machine scope: a
   * cloned repository's workspace settings cannot add a host.
   */
  allowPlainPasswordHosts: string[];
  /**
   * Hosts the user has confirmed as their own: a password from the environment or `.env` going to
   * any other host (a config chooses its host) gets a `secret-from-environment` notice. Loopback
   * and Unix sockets always count as confirmed. Machine scope, like allowPlainPasswordHosts.
   */
  trustedHosts: string[];
}

/** Settings only the user's own (machine) settings may set, never a workspace's. */
export const MACHINE_SCOPED_SETTINGS: readonly (keyof PoolCapacitySettings)[] = [
  'allowPlainPasswordHosts',
  'trustedHosts',
];

/**
 * The agents to plan for when neither `targetAgents` nor the config's `swarm.maxAgents` says: decided
 * here only (resolveConfig applies it; the editor and the CLI take the config's resolved target).
 */
export const DEFAULT_TARGET_AGENTS = 35;

export const settingsDefaults: PoolCapacitySettings = {
  targetAgents: null,
  headroomThreshold: 0.1,
  connectTimeoutMs: 3000,
  factsMaxAgeMs: 60_000,
  statusPollIntervalMs: 2000,
  safetyMarginRatio: 0.1,
  safetyMarginMin: 3,
  loadTestAllowedHosts: ['localhost', '127.0.0.1', '::1'],
  allowPlainPasswordHosts: [],
  trustedHosts: [],
};

/** Fills missing or mistyped values with defaults, so a hand-edited settings.json cannot break the server. */
export function sanitizeSettings(input: unknown): PoolCapacitySettings {
  const raw = (input && typeof input === 'object' ? input : {}) as Record<string, unknown>;
  const num = (key: keyof PoolCapacitySettings, min: number, max: number): number => {
    const value = raw[key];
    return typeof value === 'number' && Number.isFinite(value) && value >= min && value <= max
      ? value
      : (settingsDefaults[key] as number);
  };
  const target = raw.targetAgents;
  const hosts = raw.loadTestAllowedHosts;
  const hostList = (key: 'allowPlainPasswordHosts' | 'trustedHosts'): string[] => {
    const value = raw[key];
    return Array.isArray(value) && value.every((h) => typeof h === 'string')
      ? (value as string[])
      : settingsDefaults[key];
  };
  return {
    targetAgents: typeof target === 'number' && Number.isInteger(target) && target >= 1 ? target : null,
    headroomThreshold: num('headroomThreshold', 0, 0.9),
    connectTimeoutMs: num('connectTimeoutMs', 100, 120_000),
    factsMaxAgeMs: num('factsMaxAgeMs', 0, 86_400_000),
    statusPollIntervalMs: num('statusPollIntervalMs', 0, 3_600_000),
    safetyMarginRatio: num('safetyMarginRatio', 0, 0.9),
    safetyMarginMin: num('safetyMarginMin', 0, 1000),
    loadTestAllowedHosts:
      Array.isArray(hosts) && hosts.every((h) => typeof h === 'string')
        ? (hosts as string[])
        : settingsDefaults.loadTestAllowedHosts,
    allowPlainPasswordHosts: hostList('allowPlainPasswordHosts'),
    trustedHosts: hostList('trustedHosts'),
  };
}
