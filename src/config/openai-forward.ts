/**
 * openai-forward's environment variables (its `.env`), read as an aifd config when no config file
 * is found: the way a user of openai-forward configures, carried over. Each variable is checked
 * here, so a bad value is named by its variable, in one line.
 */
import type { HubConfigInput } from './schema.js';
import { ConfigError } from './config-error.js';
import { parseRateString } from './rate-string.js';

/** Every variable this module reads (and that a config file then makes aifd ignore). */
export const OPENAI_FORWARD_VARIABLES = [
  'OPENAI_BASE_URL',
  'OPENAI_ROUTE_PREFIX',
  'OPENAI_API_KEY',
  'FORWARD_KEY',
  'EXTRA_BASE_URL',
  'EXTRA_ROUTE_PREFIX',
  'REQ_RATE_LIMIT',
  'GLOBAL_RATE_LIMIT',
  'RATE_LIMIT_STRATEGY',
  'TOKEN_RATE_LIMIT',
  'PROXY',
  'LOG_CHAT',
  'CACHE_CHAT_COMPLETION',
  'CACHE_BACKEND',
  'TIMEOUT',
  'IP_WHITELIST',
  'IP_BLACKLIST',
] as const;

export interface FromVariables {
  config: HubConfigInput;
  /** The variables that were set and read. */
  used: string[];
  /** What was carried over only approximately, one line each. */
  notes: string[];
}

const LABEL = 'environment';

export function configFromOpenaiForward(env: NodeJS.ProcessEnv): FromVariables {
  const used = OPENAI_FORWARD_VARIABLES.filter((name) => value(env, name) !== undefined);
  const notes: string[] = [];
  const poolKeys = list(env, 'OPENAI_API_KEY');
  const forwardKeys = list(env, 'FORWARD_KEY');
  const proxy = value(env, 'PROXY');
  const timeoutMs = seconds(env, 'TIMEOUT');
  const openai = paired(env, 'OPENAI_BASE_URL', 'OPENAI_ROUTE_PREFIX', ['https://api.openai.com'], ['/']);
  const extra = paired(env, 'EXTRA_BASE_URL', 'EXTRA_ROUTE_PREFIX', [], []);
  const names = new Set<string>();
  const upstreams = [
    ...openai.map(([baseUrl, route]) => ({ name: nameFor(route, 'openai', names), route, baseUrl, keys: poolKeys })),
    ...extra.map(([baseUrl, route]) => ({
      name: nameFor(route, 'extra', names),
      route,
      baseUrl,
      keys: [],
      injectStreamUsage: false,
    })),
  ].map((upstream) => ({
    ...upstream,
    ...(proxy ? { proxy } : {}),
    ...(timeoutMs ? { timeouts: { firstByteMs: timeoutMs, streamFirstByteMs: timeoutMs } } : {}),
  }));

  const config: HubConfigInput = { upstreams };
  if (forwardKeys.length > 0)
    config.auth = {
      forwardKeys: forwardKeys.map((key, index) => ({ key, user: `forward-key-${index + 1}`, roles: [] })),
    };
  else if (poolKeys.length > 0) {
    if (!truthy(env.AIFD_ANONYMOUS)) {
      throw new ConfigError(
        LABEL,
        'FORWARD_KEY',
        'OPENAI_API_KEY gives aifd pool keys, but no FORWARD_KEY says who may spend them; set FORWARD_KEY, or AIFD_ANONYMOUS=true to open the pool to anyone on purpose',
      );
    }
    config.auth = { anonymous: true };
  }
  const allow = list(env, 'IP_WHITELIST', /[\s,]+/);
  const deny = list(env, 'IP_BLACKLIST', /[\s,]+/);
  if (allow.length > 0 || deny.length > 0)
    config.auth = { ...(config.auth ?? { anonymous: true }), network: { allow, deny } };

  const limits: NonNullable<HubConfigInput['limits']> = {};
  const perRoute = rates(env, 'REQ_RATE_LIMIT');
  const global = value(env, 'GLOBAL_RATE_LIMIT');
  if (global) rate('GLOBAL_RATE_LIMIT', global);
  if (perRoute || global) limits.routesPerUser = { ...perRoute, ...(global ? { '*': global } : {}) };
  const strategy = value(env, 'RATE_LIMIT_STRATEGY');
  if (strategy) {
    if (strategy === 'fixed-window-elastic-expiry') {
      limits.strategy = 'fixed-window';
      notes.push('RATE_LIMIT_STRATEGY=fixed-window-elastic-expiry counts as fixed-window (aifd has no elastic expiry)');
    } else if (strategy === 'fixed-window' || strategy === 'moving-window') limits.strategy = strategy;
    else
      throw new ConfigError(
        LABEL,
        'RATE_LIMIT_STRATEGY',
        `"${strategy}" is not fixed-window, moving-window or fixed-window-elastic-expiry`,
      );
  }
  const streamRates = rates(env, 'TOKEN_RATE_LIMIT');
  if (streamRates) {
    const windows = Object.values(streamRates);
    const slowest = windows.reduce((a, b) => (perSecond(a) <= perSecond(b) ? a : b));
    limits.streamTokenRate = slowest;
    if (new Set(windows).size > 1)
      notes.push(`TOKEN_RATE_LIMIT gives routes different rates; aifd paces every stream at the slowest, ${slowest}`);
  }
  if (Object.keys(limits).length > 0) config.limits = limits;

  const chat = flag(env, 'LOG_CHAT');
  if (chat !== undefined) config.logs = { chat };
  const cacheChat = flag(env, 'CACHE_CHAT_COMPLETION');
  if (cacheChat !== undefined) config.cache = { chatCompletions: cacheChat };
  const backend = value(env, 'CACHE_BACKEND');
  if (backend) {
    if (backend.toUpperCase() !== 'MEMORY') {
      throw new ConfigError(
        LABEL,
        'CACHE_BACKEND',
        `${backend} is not a store aifd has; aifd keeps its cache in its store: leave CACHE_BACKEND unset (SQLite, kept across restarts) or set it to MEMORY`,
      );
    }
    config.store = 'memory://';
  }
  return { config, used, notes };
}

function value(env: NodeJS.ProcessEnv, name: string): string | undefined {
  const text = env[name]?.trim();
  return text ? text : undefined;
}

function list(env: NodeJS.ProcessEnv, name: string, separator: RegExp = /,/): string[] {
  return (value(env, name) ?? '')
    .split(separator)
    .map((part) => part.trim())
    .filter((part) => part.length > 0);
}

function paired(
  env: NodeJS.ProcessEnv,
  urls: string,
  prefixes: string,
  defaultUrls: string[],
  defaultPrefixes: string[],
): [string, string][] {
  const bases = list(env, urls);
  const routes = list(env, prefixes).map((route) => '/' + route.replace(/^\/+|\/+$/g, ''));
  const baseList = bases.length > 0 ? bases : defaultUrls;
  const routeList =
    routes.length > 0 ? routes : baseList.length === 1 && defaultPrefixes.length > 0 ? defaultPrefixes : routes;
  if (baseList.length !== routeList.length) {
    throw new ConfigError(
      LABEL,
      prefixes,
      `${baseList.length} address(es) in ${urls} need as many route prefixes, comma-separated (got ${routeList.length})`,
    );
  }
  return baseList.map((base, index) => [base, routeList[index]!]);
}

function nameFor(route: string, fallback: string, taken: Set<string>): string {
  const base = route.replace(/^\/+/, '').replace(/[^A-Za-z0-9_.-]+/g, '-') || fallback;
  let name = base;
  for (let n = 2; taken.has(name); n++) name = `${base}-${n}`;
  taken.add(name);
  return name;
}

function rate(name: string, text: string): string {
  try {
    parseRateString(text);
  } catch (err) {
    throw new ConfigError(LABEL, name, (err as Error).message);
  }
  return text;
}

/** A JSON object of route → rate string (openai-forward's REQ_RATE_LIMIT and TOKEN_RATE_LIMIT). */
function rates(env: NodeJS.ProcessEnv, name: string): Record<string, string> | undefined {
  const text = value(env, name);
  if (!text) return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    throw new ConfigError(
      LABEL,
      name,
      `is not JSON (${(err as Error).message}); write {"/v1/chat/completions": "60/minute"}`,
    );
  }
  if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed))
    throw new ConfigError(LABEL, name, 'must be a JSON object of route → rate');
  const out: Record<string, string> = {};
  for (const [route, text] of Object.entries(parsed)) {
    if (typeof text !== 'string')
      throw new ConfigError(LABEL, `${name} "${route}"`, 'the rate must be a string such as "60/minute"');
    out[route] = rate(`${name} "${route}"`, text);
  }
  return out;
}

function perSecond(text: string): number {
  return Math.min(...parseRateString(text).map((window) => window.points / (window.durationMs / 1000)));
}

function truthy(text: string | undefined): boolean {
  return /^(true|1|yes|on)$/i.test(text?.trim() ?? '');
}

function flag(env: NodeJS.ProcessEnv, name: string): boolean | undefined {
  const text = value(env, name);
  if (text === undefined) return undefined;
  if (/^(true|1|yes|on)$/i.test(text)) return true;
  if (/^(false|0|no|off)$/i.test(text)) return false;
  throw new ConfigError(LABEL, name, `"${text}" is not true or false`);
}

function seconds(env: NodeJS.ProcessEnv, name: string): number | undefined {
  const text = value(env, name);
  if (text === undefined) return undefined;
  const count = Number(text);
  if (!Number.isFinite(count) || count <= 0) throw new ConfigError(LABEL, name, `"${text}" is not a number of seconds`);
  return Math.round(count * 1000);
}
