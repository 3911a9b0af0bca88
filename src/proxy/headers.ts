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
export function outgoingRequestHeaders(
  incoming: IncomingHttpHeaders,
  options: OutgoingHeaderOptions,
): IncomingHttpHeaders {
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
 * The upstream's response headers as the client should get them, as a flat name/value list for
 * `writeHead`, read from `rawHeaders` (Node builds `message.headers` only when asked, and copying
 * that object cost more than the rest of the relay). aifd's own headers for the request follow
 * (`answerHeaders`), unless the upstream sent the same name; the upstream's `x-aifd-*` describe
 * another hop and stay behind. In pool mode the upstream's `x-ratelimit-*` (Anthropic's
 * `anthropic-ratelimit-*`) describe a pool key,
 * not the caller: they stay behind too (aifd sends the caller's own).
 */
export function clientResponseHeaders(
  raw: readonly string[],
  answerHeaders: OutgoingHttpHeaders,
  options: RelayOptions,
): string[] {
  const out: string[] = [];
  const named = connectionNamed(rawHeader(raw, 'connection'));
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!;
    if (relays(name.toLowerCase(), named, options)) out.push(name, raw[i + 1]!);
  }
  for (const name in answerHeaders) {
    const value = answerHeaders[name];
    if (value === undefined || (relays(name, named, options) && rawHeader(raw, name) !== undefined)) continue;
    out.push(name, String(value));
  }
  return out;
}

interface RelayOptions {
  poolMode: boolean;
  /** The body is not the upstream's as sent: its length is set anew. */
  dropLength?: boolean;
}

/** An upstream response header (lower-case name) that describes the pool key's limits: OpenAI's or Anthropic's. */
export function describesPoolKey(name: string): boolean {
  return name.startsWith('x-ratelimit-') || name.startsWith('anthropic-ratelimit-');
}

/** Whether an upstream response header (lower-case name) reaches the client. */
function relays(name: string, named: Set<string>, options: RelayOptions): boolean {
  if (HOP_BY_HOP.has(name) || named.has(name) || name.startsWith('x-aifd-')) return false;
  if (options.poolMode && describesPoolKey(name)) return false;
  return !(options.dropLength && name === 'content-length');
}

/** A header's first value in a `rawHeaders` list (`name` in lower case), without `message.headers`. */
export function rawHeader(raw: readonly string[], name: string): string | undefined {
  for (let i = 0; i < raw.length; i += 2) {
    const candidate = raw[i]!;
    if (candidate.length === name.length && (candidate === name || candidate.toLowerCase() === name)) return raw[i + 1];
  }
  return undefined;
}

/** Headers listed in `Connection:` are hop-by-hop too. */
function connectionNamed(connection: string | undefined): Set<string> {
  if (!connection || connection === 'keep-alive' || connection === 'close') return EMPTY;
  return new Set(connection.split(',').map((name) => name.trim().toLowerCase()));
}

const EMPTY: Set<string> = new Set();
