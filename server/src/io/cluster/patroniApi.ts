/**
 * Reads a Patroni cluster through its REST API: GET /cluster and /config from the first configured
 * address that answers, then GET /patroni from each member (its own, live view). Every request has
 * a deadline (apiTimeout) and a size cap; what failed is said per address, without credentials.
 */
import http from 'node:http';
import {
  type ApiAttempt,
  configuredMaxConnections,
  type PatroniClusterState,
  type PatroniClusterView,
  type PatroniReadOutcome,
  parseClusterResponse,
  parsePatroniStatus,
} from '../../core/cluster/patroniParse';
import { endpointText, type PatroniEndpoint, type PatroniSettings } from '../../core/cluster/patroniSettings';

/** Patroni's answers are a few kilobytes; anything far larger is not Patroni. */
const MAX_BODY_BYTES = 1024 * 1024;

/** GET a JSON document with a deadline covering connect, headers and body. Rejects with a short reason. */
export function getJson(url: URL, timeoutMs: number, signal?: AbortSignal): Promise<unknown> {
  return new Promise((resolve, reject) => {
    let settled = false;
    const finish = (error: Error | undefined, value?: unknown) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      request.destroy();
      if (error) reject(error);
      else resolve(value);
    };
    const onAbort = () => finish(new Error('cancelled'));
    const timer = setTimeout(() => finish(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
    const request = http.get(url, { headers: { accept: 'application/json' }, agent: false }, (response) => {
      const chunks: Buffer[] = [];
      let size = 0;
      response.on('data', (chunk: Buffer) => {
        size += chunk.length;
        if (size > MAX_BODY_BYTES) finish(new Error(`answer larger than ${MAX_BODY_BYTES} bytes`));
        else chunks.push(chunk);
      });
      response.on('error', (error) => finish(new Error(reason(error))));
      response.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        if (response.statusCode !== 200) {
          finish(new Error(`HTTP ${response.statusCode} on GET ${url.pathname}`));
          return;
        }
        try {
          finish(undefined, JSON.parse(text));
        } catch {
          finish(new Error(`GET ${url.pathname} did not answer JSON`));
        }
      });
    });
    request.on('error', (error) => finish(new Error(reason(error))));
    if (signal?.aborted) onAbort();
    else signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/** A network error in a few words, never a URL with credentials. */
function reason(error: Error & { code?: string }): string {
  switch (error.code) {
    case 'ECONNREFUSED':
      return 'connection refused';
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return 'host name not found';
    case 'ECONNRESET':
      return 'connection reset';
    case 'EHOSTUNREACH':
    case 'ENETUNREACH':
      return 'host unreachable';
    default:
      return error.code ?? error.message;
  }
}

function urlOf(endpoint: PatroniEndpoint, path: string): URL {
  const host = endpoint.host.includes(':') ? `[${endpoint.host}]` : endpoint.host;
  return new URL(`http://${host}:${endpoint.port}${path}`);
}

/**
 * The cluster as its REST API describes it. Tries each address in order until one answers
 * GET /cluster (each within the timeout), reads /config from the same address, and each member's
 * /patroni in parallel. At most (addresses + 2) × timeout in all.
 */
export async function readPatroniCluster(
  settings: Pick<PatroniSettings, 'endpoints' | 'timeoutMs'>,
  signal?: AbortSignal,
): Promise<PatroniReadOutcome> {
  const attempts: ApiAttempt[] = [];
  for (const endpoint of settings.endpoints) {
    const api = endpointText(endpoint);
    let state: PatroniClusterState;
    let configured: ReturnType<typeof configuredMaxConnections>;
    try {
      state = parseClusterResponse(await getJson(urlOf(endpoint, '/cluster'), settings.timeoutMs, signal));
      configured = configuredMaxConnections(
        await getJson(urlOf(endpoint, '/config'), settings.timeoutMs, signal),
      );
    } catch (error) {
      attempts.push({ api, why: (error as Error).message });
      if (signal?.aborted) break;
      continue;
    }
    const memberStatus: PatroniClusterView['memberStatus'] = {};
    await Promise.all(
      state.members.map(async (member) => {
        let url: URL;
        try {
          // The member's own API address; Patroni lists it as http://host:port/patroni.
          url = new URL(member.apiUrl ?? '');
        } catch {
          memberStatus[member.name] = { ok: false, why: 'no REST API address listed' };
          return;
        }
        try {
          const body = await getJson(url, settings.timeoutMs, signal);
          memberStatus[member.name] = { ok: true, status: parsePatroniStatus(body) };
        } catch (error) {
          memberStatus[member.name] = { ok: false, why: (error as Error).message };
        }
      }),
    );
    // The member's own view knows its tags even where the DCS listing leaves them out.
    for (const member of state.members) {
      const own = memberStatus[member.name];
      if (own?.ok && own.status.nofailover) member.nofailover = true;
    }
    return {
      ok: true,
      view: {
        api,
        state,
        configuredMaxConnections: configured.value,
        ...(configured.written !== undefined && configured.written !== configured.value
          ? { configuredWritten: configured.written }
          : {}),
        memberStatus,
        attempts,
        readAt: Date.now(),
      },
    };
  }
  return { ok: false, attempts };
}
