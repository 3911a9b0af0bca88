/**
 * How an upstream wants to be addressed: which header carries a pool key (Azure: `api-key`) and
 * which query parameters every URL carries (Azure: `api-version`). From config alone.
 */
import type { UpstreamConfig } from '../config/schema.js';

/** The header(s) that present a pool key to this upstream. */
export function keyHeaders(config: Pick<UpstreamConfig, 'keyHeader'>, secret: string): Record<string, string> {
  return config.keyHeader === 'authorization' ? { authorization: `Bearer ${secret}` } : { [config.keyHeader]: secret };
}

/** `path` (with its query) plus the upstream's own query parameters, which win over the client's. */
export function withUpstreamQuery(config: Pick<UpstreamConfig, 'query'>, path: string): string {
  const names = Object.keys(config.query);
  if (names.length === 0) return path;
  const queryAt = path.indexOf('?');
  const params = new URLSearchParams(queryAt === -1 ? '' : path.slice(queryAt + 1));
  for (const name of names) params.set(name, config.query[name]!);
  return `${queryAt === -1 ? path : path.slice(0, queryAt)}?${params.toString()}`;
}
