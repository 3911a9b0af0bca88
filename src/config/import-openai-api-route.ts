/**
 * openai-api-route's config (`upstreams.yaml` / `config.yaml`: `authorization`, `dbtype`/`dbaddr`,
 * `address`, `upstreams` of `sk` + `endpoint` tried in order) as an aifd config. Unknown fields are
 * named, as aifd's own config does.
 */
import yaml from 'js-yaml';
import { ConfigError } from './config-error.js';
import { validate } from './load.js';
import type { HubConfigInput } from './schema.js';

const TOP_FIELDS = new Set([
  'address',
  'hostname',
  'dbtype',
  'dbaddr',
  'authorization',
  'timeout',
  'stream_timeout',
  'upstreams',
  'cors_allow_origins',
]);
const UPSTREAM_FIELDS = new Set([
  'sk',
  'endpoint',
  'timeout',
  'stream_timeout',
  'allow',
  'deny',
  'type',
  'noauth',
  'keep_header',
]);

export function fromOpenaiApiRoute(text: string, label: string): { config: HubConfigInput; notes: string[] } {
  let parsed: unknown;
  try {
    parsed = yaml.load(text);
  } catch (err) {
    throw new ConfigError(label, '', `cannot be parsed: ${(err as Error).message.split('\n')[0]}`);
  }
  if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed))
    throw new ConfigError(label, '', 'must be a YAML mapping');
  const source = parsed as Record<string, any>;
  unknownFields(source, TOP_FIELDS, label, '');
  if (!Array.isArray(source.upstreams) || source.upstreams.length === 0)
    throw new ConfigError(label, 'upstreams', 'must list at least one upstream (sk and endpoint)');
  const notes: string[] = [];
  const byEndpoint = new Map<string, { keys: string[]; timeout: number; allow?: string[]; deny?: string[] }>();
  source.upstreams.forEach((upstream: Record<string, any>, index: number) => {
    const at = `upstreams[${index}]`;
    if (!upstream || typeof upstream !== 'object')
      throw new ConfigError(label, at, 'must be a mapping with sk and endpoint');
    unknownFields(upstream, UPSTREAM_FIELDS, label, at);
    if (upstream.type !== undefined && upstream.type !== 'openai')
      throw new ConfigError(
        label,
        `${at}.type`,
        `"${upstream.type}" upstreams are not something aifd forwards to; only openai`,
      );
    if (typeof upstream.sk !== 'string' || upstream.sk === '')
      throw new ConfigError(label, `${at}.sk`, 'must be the upstream key');
    const endpoint =
      typeof upstream.endpoint === 'string' && upstream.endpoint !== ''
        ? upstream.endpoint
        : 'https://api.openai.com/v1';
    const group = byEndpoint.get(endpoint) ?? { keys: [], timeout: 0 };
    if (!group.keys.includes(upstream.sk)) group.keys.push(upstream.sk);
    group.timeout = Math.max(group.timeout, Number(upstream.timeout ?? source.timeout ?? 0));
    if (Array.isArray(upstream.allow)) group.allow = [...(group.allow ?? []), ...upstream.allow.map(String)];
    if (Array.isArray(upstream.deny)) group.deny = [...(group.deny ?? []), ...upstream.deny.map(String)];
    if (upstream.noauth !== undefined || upstream.keep_header !== undefined)
      notes.push(`${at}: noauth and keep_header have no aifd counterpart and were left out`);
    byEndpoint.set(endpoint, group);
  });
  const several = byEndpoint.size > 1;
  const rules: { effect: 'deny'; upstreams: string[]; models: string[] }[] = [];
  const upstreams = [...byEndpoint].map(([endpoint, group], index) => {
    const name = `upstream-${index + 1}`;
    if (group.deny) rules.push({ effect: 'deny', upstreams: [name], models: group.deny });
    return {
      name,
      baseUrl: endpoint,
      keys: group.keys,
      // openai-api-route tries its upstreams in order: every upstream serving every model makes each a fallback for the one before.
      ...(group.allow ? { models: group.allow } : several ? { models: ['*'] } : {}),
      ...(group.timeout > 0 ? { timeouts: { firstByteMs: group.timeout * 1000 } } : {}),
    };
  });
  const tokens =
    typeof source.authorization === 'string'
      ? source.authorization
          .split(',')
          .map((token: string) => token.trim())
          .filter(Boolean)
      : [];
  const config: HubConfigInput = {
    upstreams,
    auth:
      tokens.length > 0
        ? {
            forwardKeys: tokens.map((key: string, index: number) => ({
              key,
              user: tokens.length === 1 ? 'openai-api-route' : `client-${index + 1}`,
              roles: [],
            })),
          }
        : { anonymous: true },
  };
  if (tokens.length === 0)
    notes.push(
      'no authorization was set: the pool is open to anyone who reaches aifd (auth.anonymous); add forward keys or JWT',
    );
  if (rules.length > 0) config.acl = { default: 'allow', rules };
  if (typeof source.address === 'string') config.listen = listenFrom(source.address, label);
  if (source.dbtype !== undefined || source.dbaddr !== undefined)
    config.logs = { sink: sinkFrom(String(source.dbtype ?? 'sqlite'), String(source.dbaddr ?? './db.sqlite'), label) };
  // What is written must load.
  validate(JSON.parse(JSON.stringify(config)), label);
  return { config, notes };
}

function unknownFields(object: Record<string, unknown>, known: Set<string>, label: string, at: string): void {
  const unknown = Object.keys(object).filter((field) => !known.has(field));
  if (unknown.length > 0)
    throw new ConfigError(
      label,
      at,
      `unknown field ${unknown.map((field) => `"${field}"`).join(', ')} (openai-api-route has ${[...known].join(', ')})`,
    );
}

function listenFrom(address: string, label: string): { host: string; port: number } {
  const match = /^(.*):(\d+)$/.exec(address.trim());
  if (!match) throw new ConfigError(label, 'address', `"${address}" is not host:port (e.g. ":8888")`);
  return { host: match[1] === '' ? '0.0.0.0' : match[1]!.replace(/^\[|\]$/g, ''), port: Number(match[2]) };
}

/** `dbtype: postgres` takes a libpq keyword string (`host=… port=… user=… dbname=…`); aifd takes a URL. */
function sinkFrom(type: string, address: string, label: string): string {
  if (type === 'sqlite') return `sqlite://${address}`;
  if (type !== 'postgres') throw new ConfigError(label, 'dbtype', `"${type}" is not sqlite or postgres`);
  if (/^postgres(ql)?:\/\//.test(address)) return address;
  const words = Object.fromEntries(
    address
      .trim()
      .split(/\s+/)
      .map((pair) => pair.split('=', 2) as [string, string]),
  );
  const auth = words.user
    ? `${encodeURIComponent(words.user)}${words.password ? `:${encodeURIComponent(words.password)}` : ''}@`
    : '';
  const query = words.sslmode ? `?sslmode=${words.sslmode}` : '';
  return `postgres://${auth}${words.host ?? '127.0.0.1'}:${words.port ?? 5432}/${words.dbname ?? 'postgres'}${query}`;
}
