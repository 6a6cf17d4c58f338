/**
 * What the config says about a Patroni cluster: whether it is in use (layout B's `mode` and
 * `patroni.enabled`), which pools are active, and where its REST API answers. Pure.
 */
import type {
  ConfigDocument,
  ConfigValue,
  OffsetRange,
  PoolDeclaration,
  PoolName,
} from '../config/poolConfig';
import { echoValue } from '../config/secretScrubber';

/** Patroni's REST API port when the config names none. */
export const DEFAULT_PATRONI_API_PORT = 8008;
/** apiTimeout when the config names none, in seconds (the host tool's default). */
export const DEFAULT_PATRONI_API_TIMEOUT_S = 5;
/** failoverTimeout when the config names none, in seconds. */
export const DEFAULT_PATRONI_FAILOVER_TIMEOUT_S = 30;

/** One REST API address to try. */
export interface PatroniEndpoint {
  host: string;
  port: number;
}

export interface PatroniSettings {
  endpoints: PatroniEndpoint[];
  /** Per request, from apiTimeout. */
  timeoutMs: number;
  failoverTimeoutS: number;
  /** Values that cannot be used; the cluster is not read while there are any. */
  problems: { message: string; range: OffsetRange }[];
}

/** Layout B's mode as written: `patroni-ha` or anything else (single-node). */
export function clusterMode(document: Pick<ConfigDocument, 'layout' | 'mode'>): 'patroni-ha' | 'single-node' {
  return document.layout === 'B' && document.mode?.value === 'patroni-ha' ? 'patroni-ha' : 'single-node';
}

function patroniEnabled(document: Pick<ConfigDocument, 'pools'>): boolean {
  const value = document.pools.find((p) => p.name === 'patroni')?.patroni?.enabled?.value;
  return value === true || value === 'true';
}

/** Whether the pools read the Patroni cluster: `mode: patroni-ha`, or `patroni.enabled: true`. */
export function patroniInUse(document: Pick<ConfigDocument, 'layout' | 'mode' | 'pools'>): boolean {
  return (
    document.pools.some((p) => p.name === 'patroni') &&
    (clusterMode(document) === 'patroni-ha' || patroniEnabled(document))
  );
}

/**
 * Why a pool is inactive (checked for valid values only), or undefined when it is active. Under
 * `mode: patroni-ha` the singleNode pools are not used; the patroni block is used only when the mode
 * or `enabled` says so.
 */
export function inactiveReason(
  document: Pick<ConfigDocument, 'layout' | 'mode' | 'pools'>,
  name: PoolName,
): string | undefined {
  if (document.layout !== 'B') return undefined;
  if (name === 'patroni')
    return patroniInUse(document)
      ? undefined
      : 'inactive: the mode is single-node and patroni.enabled is not true, so its values are checked for validity only';
  return clusterMode(document) === 'patroni-ha'
    ? `inactive: the mode is patroni-ha, so the pools use the Patroni cluster and ${name}'s values are checked for validity only`
    : undefined;
}

/** `host`, `host:port`, `[v6]:port` or a bare IPv6 address. */
export function parseEndpoint(text: string, defaultPort: number): PatroniEndpoint | undefined {
  const trimmed = text.trim();
  if (!trimmed || /[\s/@?#]/.test(trimmed)) return undefined;
  const bracketed = /^\[([^\]]+)\](?::(\d+))?$/.exec(trimmed);
  if (bracketed) return withPort(bracketed[1]!, bracketed[2], defaultPort);
  const colons = trimmed.split(':').length - 1;
  if (colons === 1) {
    const [host, port] = trimmed.split(':');
    return host ? withPort(host, port, defaultPort) : undefined;
  }
  return { host: trimmed, port: defaultPort };
}

function withPort(host: string, port: string | undefined, defaultPort: number): PatroniEndpoint | undefined {
  if (port === undefined) return { host, port: defaultPort };
  const n = Number(port);
  return Number.isInteger(n) && n > 0 && n < 65536 ? { host, port: n } : undefined;
}

function positiveNumber(value: ConfigValue | undefined): number | undefined {
  if (!value) return undefined;
  const n =
    typeof value.value === 'string' && /^\s*\d+(\.\d+)?\s*$/.test(value.value)
      ? Number(value.value)
      : value.value;
  return typeof n === 'number' && Number.isFinite(n) && n > 0 ? n : Number.NaN;
}

/** The REST API addresses and deadlines of a patroni block. */
export function patroniSettings(declaration: PoolDeclaration): PatroniSettings {
  const keys = declaration.patroni ?? {};
  const problems: PatroniSettings['problems'] = [];
  let apiPort = DEFAULT_PATRONI_API_PORT;
  const portValue = positiveNumber(keys.apiPort);
  if (portValue !== undefined) {
    if (Number.isInteger(portValue) && portValue < 65536) apiPort = portValue;
    else
      problems.push({
        message: `apiPort ${echoValue(keys.apiPort!.value)} is not a TCP port number`,
        range: keys.apiPort!.range,
      });
  }
  const timeout = positiveNumber(keys.apiTimeout);
  if (timeout !== undefined && Number.isNaN(timeout))
    problems.push({
      message: `apiTimeout must be a number of seconds above 0, not ${echoValue(keys.apiTimeout!.value)}`,
      range: keys.apiTimeout!.range,
    });
  const failover = positiveNumber(keys.failoverTimeout);
  if (failover !== undefined && Number.isNaN(failover))
    problems.push({
      message: `failoverTimeout must be a number of seconds above 0, not ${echoValue(keys.failoverTimeout!.value)}`,
      range: keys.failoverTimeout!.range,
    });
  const hostsValue = keys.apiHosts;
  const written = hostsValue
    ? Array.isArray(hostsValue.value)
      ? hostsValue.value
      : typeof hostsValue.value === 'string'
        ? hostsValue.value.split(',')
        : [hostsValue.value]
    : ['localhost'];
  const endpoints: PatroniEndpoint[] = [];
  for (const entry of written) {
    const endpoint =
      typeof entry === 'string' || typeof entry === 'number'
        ? parseEndpoint(String(entry), apiPort)
        : undefined;
    if (endpoint) endpoints.push(endpoint);
    else
      problems.push({
        // An entry with credentials (user:password@host) is not echoed: its text may hold a password.
        message:
          typeof entry === 'string' && entry.includes('@')
            ? 'apiHosts: an entry with "@" is not a host or host:port (credentials in apiHosts are not supported; its text is not shown)'
            : `apiHosts: ${echoValue(entry)} is not a host or host:port`,
        range: hostsValue?.range ?? declaration.keyRange,
      });
  }
  if (hostsValue && written.length === 0)
    problems.push({ message: 'apiHosts names no host', range: hostsValue.range });
  return {
    endpoints,
    timeoutMs: Math.round(
      1000 * (timeout && !Number.isNaN(timeout) ? timeout : DEFAULT_PATRONI_API_TIMEOUT_S),
    ),
    failoverTimeoutS: failover && !Number.isNaN(failover) ? failover : DEFAULT_PATRONI_FAILOVER_TIMEOUT_S,
    problems,
  };
}

/** "127.0.0.1:8008", "[::1]:8008" */
export function endpointText(endpoint: PatroniEndpoint): string {
  return endpoint.host.includes(':')
    ? `[${endpoint.host}]:${endpoint.port}`
    : `${endpoint.host}:${endpoint.port}`;
}

/** How the patroni pool is named in messages: its role and database through the REST API addresses. */
export function patroniServerText(pool: {
  declaration: PoolDeclaration;
  target: { user: string; database: string };
}): string {
  const api = patroniSettings(pool.declaration).endpoints.map(endpointText).join(', ');
  return `${pool.target.user}@Patroni cluster (REST API ${api || 'none'})/${pool.target.database}`;
}
