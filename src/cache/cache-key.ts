/**
 * The cache key: a hash of upstream, path and the canonical request body, without the fields
 * that do not change the answer. Canonical means keys sorted at every depth, so the same request
 * written in another key order is the same entry.
 */
import { sha256Hex } from '../util/hash.js';

const IGNORED = new Set(['caching', 'user', 'stream', 'stream_options']);

export function cacheKey(
  upstream: string,
  path: string,
  body: Record<string, unknown>,
  user: string | undefined,
): string {
  const relevant: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(body)) if (!IGNORED.has(name)) relevant[name] = value;
  return sha256Hex(`${upstream}\n${path}\n${user ?? ''}\n${canonicalJson(relevant)}`);
}

export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value && typeof value === 'object') {
    const entries = Object.keys(value)
      .sort()
      .map((key) => `${JSON.stringify(key)}:${canonicalJson((value as Record<string, unknown>)[key])}`);
    return `{${entries.join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}
