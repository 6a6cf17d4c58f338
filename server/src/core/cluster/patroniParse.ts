/**
 * Reads Patroni's REST answers (GET /cluster, /config, /patroni) into plain facts. Pure, and lenient
 * about what varies between Patroni versions (3.0.4 calls a streaming replica's state `streaming`,
 * 4.0 says `primary` where 3.x says `master`); strict about shape: an answer that is not what
 * Patroni sends is an error, never an empty cluster.
 */

/** PostgreSQL's max_connections when Patroni's dynamic config has none, or one under 25. */
export const PATRONI_DEFAULT_MAX_CONNECTIONS = 100;

/** Patroni replaces a configured max_connections under this with its default. */
export const PATRONI_MIN_MAX_CONNECTIONS = 25;

export type MemberRole = 'leader' | 'standby_leader' | 'replica' | 'sync_standby' | string;

/** One member as the DCS lists it (GET /cluster). */
export interface PatroniMember {
  name: string;
  role: MemberRole;
  /** running, streaming, in archive recovery, starting, stopped, crashed, ... */
  state: string;
  /** The member's PostgreSQL (postgresql.connect_address). */
  host: string;
  port: number;
  apiUrl?: string;
  timeline?: number;
  /** Bytes behind the leader; 'unknown' when Patroni cannot tell; absent on the leader. */
  lag?: number | 'unknown';
  pendingRestart: boolean;
  /** Tagged nofailover: Patroni never promotes it. */
  nofailover: boolean;
}

export interface PatroniClusterState {
  members: PatroniMember[];
  /** Maintenance mode: Patroni does not fail over. */
  paused: boolean;
}

type Json = Record<string, unknown>;

function isObject(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function truthy(value: unknown): boolean {
  return value === true || value === 'true';
}

/** GET /cluster. Throws with a short reason when the body is not a Patroni cluster. */
export function parseClusterResponse(body: unknown): PatroniClusterState {
  if (!isObject(body) || !Array.isArray(body.members))
    throw new Error('the answer to GET /cluster has no "members" list (is this a Patroni REST API?)');
  const members = body.members.map((raw, i): PatroniMember => {
    if (!isObject(raw) || typeof raw.name !== 'string' || typeof raw.role !== 'string')
      throw new Error(`member ${i + 1} of GET /cluster has no name or role`);
    const port = typeof raw.port === 'number' ? raw.port : Number(raw.port);
    const lag =
      typeof raw.lag === 'number'
        ? raw.lag
        : raw.lag === undefined || raw.lag === null
          ? undefined
          : 'unknown';
    const tags = isObject(raw.tags) ? raw.tags : {};
    return {
      name: raw.name,
      role: raw.role,
      state: typeof raw.state === 'string' ? raw.state : 'unknown',
      host: typeof raw.host === 'string' ? raw.host : '',
      port: Number.isInteger(port) ? port : 0,
      ...(typeof raw.api_url === 'string' ? { apiUrl: raw.api_url } : {}),
      ...(typeof raw.timeline === 'number' ? { timeline: raw.timeline } : {}),
      ...(lag !== undefined ? { lag } : {}),
      pendingRestart: truthy(raw.pending_restart),
      nofailover: truthy(tags.nofailover),
    };
  });
  return { members, paused: truthy(body.pause) };
}

/**
 * GET /config: the max_connections Patroni starts PostgreSQL with. Only the dynamic config counts
 * (a member's local setting is ignored); absent or under 25 it is 100; it may be written as text.
 */
export function configuredMaxConnections(body: unknown): { value: number; written?: unknown } {
  if (!isObject(body)) throw new Error('the answer to GET /config is not a JSON object');
  const postgresql = isObject(body.postgresql) ? body.postgresql : {};
  const parameters = isObject(postgresql.parameters) ? postgresql.parameters : {};
  const written = parameters.max_connections;
  const n =
    typeof written === 'number' ? written : typeof written === 'string' ? Number(written.trim()) : Number.NaN;
  const value = Number.isInteger(n) && n >= PATRONI_MIN_MAX_CONNECTIONS ? n : PATRONI_DEFAULT_MAX_CONNECTIONS;
  return written === undefined ? { value } : { value, written };
}

/** GET /patroni: this member's own view (its PostgreSQL queried just now). */
export interface PatroniMemberStatus {
  state: string;
  /** `primary` for 3.x's `master` and 4.x's `primary`. */
  role: 'primary' | 'replica' | string;
  timeline?: number;
  pendingRestart: boolean;
  nofailover: boolean;
  version?: string;
}

export function parsePatroniStatus(body: unknown): PatroniMemberStatus {
  if (!isObject(body) || typeof body.state !== 'string')
    throw new Error('the answer to GET /patroni has no "state" (is this a Patroni REST API?)');
  const role = body.role === 'master' ? 'primary' : typeof body.role === 'string' ? body.role : 'unknown';
  const tags = isObject(body.tags) ? body.tags : {};
  const patroni = isObject(body.patroni) ? body.patroni : {};
  return {
    state: body.state,
    role,
    ...(typeof body.timeline === 'number' ? { timeline: body.timeline } : {}),
    pendingRestart: truthy(body.pending_restart),
    nofailover: truthy(tags.nofailover),
    ...(typeof patroni.version === 'string' ? { version: patroni.version } : {}),
  };
}

/** The member that holds the leader key, if exactly one does. */
export function leaderOf(state: PatroniClusterState): PatroniMember | undefined {
  const leaders = state.members.filter((m) => m.role === 'leader' || m.role === 'standby_leader');
  return leaders.length === 1 ? leaders[0] : undefined;
}

/**
 * Members Patroni may promote when the leader goes: replicas that are not tagged nofailover and
 * whose state is a live one (`running`, or 3.0.4+'s `streaming` / `in archive recovery`).
 */
export function promotable(state: PatroniClusterState): PatroniMember[] {
  const leader = leaderOf(state);
  return state.members.filter(
    (m) =>
      m !== leader &&
      !m.nofailover &&
      (m.role === 'replica' || m.role === 'sync_standby') &&
      ['running', 'streaming', 'in archive recovery'].includes(m.state),
  );
}

export interface ApiAttempt {
  /** host:port tried */
  api: string;
  /** Why it gave no cluster (connection refused, timed out after 5000 ms, HTTP 503, not JSON, ...). */
  why: string;
}

/** What the REST API says about the cluster, read just now. */
export interface PatroniClusterView {
  /** The address that answered GET /cluster. */
  api: string;
  state: PatroniClusterState;
  /** max_connections of the dynamic config (GET /config), as Patroni applies it. */
  configuredMaxConnections: number;
  /** As written in /config, when it differs from what Patroni applies (under 25, text). */
  configuredWritten?: unknown;
  /** Each member's own GET /patroni, or why it did not answer. */
  memberStatus: Record<string, { ok: true; status: PatroniMemberStatus } | { ok: false; why: string }>;
  /** Addresses tried before the one that answered. */
  attempts: ApiAttempt[];
  readAt: number;
}

export type PatroniReadOutcome =
  | { ok: true; view: PatroniClusterView }
  | { ok: false; attempts: ApiAttempt[] };
