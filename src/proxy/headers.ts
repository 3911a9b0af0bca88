import type { IncomingHttpHeaders, OutgoingHttpHeaders } from 'node:http';

/** Connection-level headers (RFC 9110 §7.6.1) that never cross a proxy. */
const HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'proxy-authenticate',
  'proxy-authorization',
  'proxy-connection',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
]);

/** Client headers that carry a credential: none of them may reach an upstream that has pool keys. */
const CREDENTIAL_HEADERS = new Set(['authorization', 'api-key', 'x-api-key']);

/** Headers aifd recomputes itself for the request it sends upstream. */
const RECOMPUTED_REQUEST_HEADERS = new Set(['host', 'content-length', 'expect']);

export interface OutgoingHeaderOptions {
  /** Strip the client's credentials (pool mode). */
  dropCredentials: boolean;
  bodyLength: number;
  hasBody: boolean;
  extra: Readonly<Record<string, string>>;
}

/** The headers the upstream sees, computed once per request (every attempt shares them). */
export function outgoingRequestHeaders(incoming: IncomingHttpHeaders, options: OutgoingHeaderOptions): IncomingHttpHeaders {
  const out: IncomingHttpHeaders = {};
  const named = connectionNamed(incoming.connection);
  for (const name in incoming) {
    const value = incoming[name];
    if (value === undefined) continue;
    if (HOP_BY_HOP.has(name) || RECOMPUTED_REQUEST_HEADERS.has(name) || named.has(name)) continue;
    if (name.startsWith('x-aifd-')) continue;
    if (options.dropCredentials && CREDENTIAL_HEADERS.has(name)) continue;
    out[name] = value;
  }
  if (options.hasBody) out['content-length'] = String(options.bodyLength);
  for (const name in options.extra) out[name.toLowerCase()] = options.extra[name];
  return out;
}

/**
 * The upstream's response headers as the client should get them, over aifd's own for the request
 * (`answerHeaders`; its request id always stays). In pool mode the upstream's `x-ratelimit-*`
 * describe a pool key, not the caller: they stay behind (aifd sends the caller's own).
 */
export function clientResponseHeaders(upstream: IncomingHttpHeaders, answerHeaders: OutgoingHttpHeaders, poolMode = false): OutgoingHttpHeaders {
  const out: OutgoingHttpHeaders = { ...answerHeaders };
  const named = connectionNamed(upstream.connection);
  for (const name in upstream) {
    const value = upstream[name];
    if (value === undefined || HOP_BY_HOP.has(name) || named.has(name)) continue;
    if (poolMode && name.startsWith('x-ratelimit-')) continue;
    out[name] = value;
  }
  out['x-aifd-request-id'] = answerHeaders['x-aifd-request-id'];
  return out;
}

/** Headers listed in `Connection:` are hop-by-hop too. */
function connectionNamed(connection: string | undefined): Set<string> {
  if (!connection || connection === 'keep-alive' || connection === 'close') return EMPTY;
  return new Set(connection.split(',').map((name) => name.trim().toLowerCase()));
}

const EMPTY: Set<string> = new Set();
