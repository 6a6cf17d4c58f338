// What the fixture runner tells code running inside VS Code; no imports, so the suite bundle stays small.

/** Name of the environment variable holding the JSON `FixtureInfo` for code running in VS Code. */
export const FIXTURE_ENV = 'POOL_CAPACITY_TEST_FIXTURE';

/** What the tests need to know about the database and the workspaces written for it. */
export interface FixtureInfo {
  host: string;
  port: number;
  superuser: string;
  superuserPassword: string;
  /** The server's max_connections. */
  maxConnections: number;
  superuserReservedConnections: number;
  /** The project pool: deliberately larger than the server allows. */
  project: PoolFixture;
  /** The shared pool: fits. */
  shared: PoolFixture;
  /** Absolute folder paths by fixture name. */
  workspaces: Record<string, string>;
}

export interface PoolFixture {
  database: string;
  user: string;
  password: string;
  /** Environment variable (in the workspace's .env) holding the password. */
  passwordVar: string;
  poolSize: number;
  /** 0-based line of `poolSize:` in `.claude-flow/config.yaml`. */
  poolSizeLine: number;
}

/** Reads the fixture inside the extension host (or any process started with `env()`). */
export function fixtureFromEnv(): FixtureInfo {
  const raw = process.env[FIXTURE_ENV];
  if (!raw) throw new Error(`${FIXTURE_ENV} is not set: run this through \`npm run test:vscode\``);
  return JSON.parse(raw) as FixtureInfo;
}

/** Name of the environment variable holding the JSON `PatroniFixtureInfo` (the `patroni` window only). */
export const PATRONI_FIXTURE_ENV = 'POOL_CAPACITY_TEST_PATRONI';

/** The Patroni cluster of the `patroni` window: its REST API addresses and members. */
export interface PatroniFixtureInfo {
  apiHosts: string[];
  members: { name: string; apiPort: number; pgPort: number }[];
}
