/**
 * The response cache in the request path: opt-in lookup before forwarding (a hit is served here
 * and never touches a key), coalescing of identical requests in flight, and filling after a
 * complete answer.
 */
import { cacheKey } from '../cache/cache-key.js';
import { chatCompletionEvents, storableBody, type CacheEntry } from '../cache/entry.js';
import type { RequestContext } from './context.js';
import { startAnswer } from './respond.js';
import { exchangeFromJson } from '../usage/exchange.js';
import type { StageDeps } from './stage-deps.js';
import type { ResponseCache } from '../cache/response-cache.js';

/** Synchronous for the requests that bypass the cache (most of them): no promise, no microtask. */
export function serveFromCache(ctx: RequestContext, hub: StageDeps): Promise<'next' | 'done'> | 'next' {
  const json = ctx.info.json;
  const bodyOptIn = json?.has('caching') === true && json.get('caching') === true;
  // aifd's own field: the upstream never sees it.
  json?.delete('caching');
  const decision = decide(ctx, hub, bodyOptIn);
  ctx.answerHeaders['x-aifd-cache'] = decision === 'lookup' ? 'miss' : 'bypass';
  if (decision !== 'lookup') {
    ctx.cacheStatus = 'bypass';
    if (hub.cache) hub.cache.counters.bypasses++;
    return 'next';
  }
  return lookUp(ctx, hub, hub.cache!, json!.object);
}

async function lookUp(
  ctx: RequestContext,
  hub: StageDeps,
  cache: ResponseCache,
  json: Record<string, unknown>,
): Promise<'next' | 'done'> {
  const route = ctx.route!;
  const path = route.apiPath;
  const key = cacheKey(
    ctx.upstream!.config.name,
    path,
    json,
    hub.config.cache.scope === 'user' ? (ctx.identity?.user ?? ctx.clientIp) : undefined,
  );
  const stored = await cache.get(key);
  if (stored) return serveHit(ctx, hub, stored);
  const claim = cache.join(key);
  if ('wait' in claim) {
    const entry = await claim.wait;
    if (entry) return serveHit(ctx, hub, entry);
  } else {
    const elsewhere = await cache.filledElsewhere(key);
    if (elsewhere) {
      claim.settle(elsewhere);
      return serveHit(ctx, hub, elsewhere);
    }
    ctx.cacheFill = { key, settle: claim.settle };
  }
  cache.counters.misses++;
  ctx.cacheStatus = 'miss';
  return 'next';
}

/** After forwarding: store a complete answer and hand it to requests waiting for the same key. */
export function fillCache(ctx: RequestContext, hub: StageDeps): Promise<void> | undefined {
  const fill = ctx.cacheFill;
  if (!fill) return undefined;
  ctx.cacheFill = undefined;
  return store(ctx, hub, fill);
}

async function store(
  ctx: RequestContext,
  hub: StageDeps,
  fill: NonNullable<RequestContext['cacheFill']>,
): Promise<void> {
  let entry: CacheEntry | undefined;
  try {
    const body =
      ctx.outcome.status === 200 && ctx.outcome.error === undefined && ctx.exchange
        ? storableBody(ctx.api, ctx.exchange)
        : undefined;
    if (body) entry = await hub.cache!.put(fill.key, body, ctx.exchange!.usage);
  } catch (err) {
    hub.log.warn('could not store a cache entry', { requestId: ctx.id, error: (err as Error).message });
  } finally {
    fill.settle(entry);
  }
}

function decide(ctx: RequestContext, hub: StageDeps, bodyOptIn: boolean): 'lookup' | 'bypass' {
  if (!hub.cache || ctx.req.method !== 'POST' || !ctx.info.json) return 'bypass';
  const api = ctx.api;
  if (api !== 'chat' && api !== 'completions' && api !== 'embeddings' && api !== 'messages') return 'bypass';
  const json = ctx.info.json;
  const n = json.get('n');
  if (typeof n === 'number' && n > 1) return 'bypass';
  if (ctx.info.stream && api !== 'chat') return 'bypass';
  const header = String(ctx.req.headers['x-aifd-cache'] ?? '').toLowerCase();
  if (header === 'off' || /no-cache|no-store/i.test(String(ctx.req.headers['cache-control'] ?? ''))) return 'bypass';
  const optedIn = bodyOptIn || header === 'on' || (hub.config.cache.chatCompletions && api === 'chat');
  return optedIn ? 'lookup' : 'bypass';
}

function serveHit(ctx: RequestContext, hub: StageDeps, entry: CacheEntry): 'done' {
  hub.cache!.counters.hits++;
  ctx.cacheStatus = 'hit';
  ctx.usage = entry.usage;
  ctx.usageSource = entry.usage ? 'upstream' : undefined;
  // The records (chat log, model) describe the answer replayed, as if it had come from upstream.
  ctx.exchange = exchangeFromJson(entry.body);
  ctx.outcome.ttfbMs = performance.now() - ctx.startedAt;
  const { res } = ctx;
  ctx.answerHeaders['x-aifd-cache'] = 'hit';
  // Stored as the upstream answered; a client that asked for an alias sees the alias.
  const body = ctx.alias ? { ...entry.body, model: ctx.alias } : entry.body;
  if (ctx.info.stream) {
    const includeUsage =
      (ctx.info.json?.get('stream_options') as { include_usage?: unknown } | undefined)?.include_usage === true &&
      !ctx.injectedUsage;
    startAnswer(ctx, 200, {
      ...ctx.answerHeaders,
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-cache',
    });
    res.end(chatCompletionEvents(body, includeUsage).join(''));
  } else {
    const text = JSON.stringify(body);
    startAnswer(ctx, 200, {
      ...ctx.answerHeaders,
      'content-type': 'application/json',
      'content-length': Buffer.byteLength(text),
    });
    res.end(text);
  }
  return 'done';
}
