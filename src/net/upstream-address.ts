/**
 * How an upstream wants to be addressed: which header carries a pool key (Azure: `api-key`,
 * Anthropic: `x-api-key`) and which query parameters every URL carries (Azure: `api-version`).
 * From config alone.
 */
import type { UpstreamConfig } from '../config/schema.js';

/**
 * The API version aifd's own requests to an Anthropic upstream name (the models list for `keys
 * check`); forwarded requests carry the client's own. Anthropic refuses requests without one
 * (docs.claude.com/en/api/versioning, read 2026-12-07: the current version is 2023-06-01).
 */
const ANTHROPIC_VERSION = '2023-06-01';

/** The header(s) that present a pool key to this upstream in aifd's own requests. */
export function keyHeaders(config: Pick<UpstreamConfig, 'keyHeader' | 'api'>, secret: string): Record<string, string> {
  const headers: Record<string, string> = {};
  presentKey(headers, config, secret);
  if (config.api === 'anthropic') headers['anthropic-version'] = ANTHROPIC_VERSION;
  return headers;
}

/** Sets the header that presents a pool key on headers being sent. */
export function presentKey(
  headers: Record<string, string | string[] | undefined>,
  config: Pick<UpstreamConfig, 'keyHeader'>,
  secret: string,
): void {
  headers[config.keyHeader] = config.keyHeader === 'authorization' ? `Bearer ${secret}` : secret;
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
