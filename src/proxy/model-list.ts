/**
 * `GET /v1/models` where the model picks the upstream: the union of what the caller may use on
 * the route — each upstream's own list (narrowed to its `models` globs), the models it declares
 * by name where it has no list, and the aliases — answered by aifd. `GET /v1/models/{alias}`
 * is answered here too (the upstream does not know the alias).
 */
import { mayUseModel } from '../auth/acl.js';
import { fetchModelList, modelEntries, type ModelEntry } from '../keys/check.js';
import { anyGlobMatch } from '../util/glob.js';
import type { RequestContext } from './context.js';
import type { StageDeps } from './stage-deps.js';
import { answerJson } from './respond.js';
import type { RouteMatch } from './routes.js';
import { keyHeaders } from '../net/upstream-address.js';
import type { UpstreamRuntime } from './upstreams.js';

/** An upstream's list is asked for once a minute at most (pool mode; it is the same for everyone). */
const LIST_TTL_MS = 60_000;
const listCache = new WeakMap<UpstreamRuntime, { at: number; entries: ModelEntry[] }>();

export async function answerModelList(ctx: RequestContext, hub: StageDeps): Promise<'next' | 'done'> {
  const route = ctx.route!;
  if (ctx.req.method !== 'GET' || !route.apiPath.startsWith('/v1/models') || !hub.router.routesByModel(route))
    return 'next';
  if (route.apiPath === '/v1/models') {
    const data = await unionOfModels(ctx, hub, route);
    answerJson(ctx, 200, route.api === 'anthropic' ? anthropicList(data) : { object: 'list', data });
    return 'done';
  }
  if (ctx.alias) {
    const entry = aliasEntry(ctx.alias);
    answerJson(ctx, 200, route.api === 'anthropic' ? anthropicModel(entry) : entry);
    return 'done';
  }
  return 'next';
}

/** A model in the shape of Anthropic's `GET /v1/models` (an Anthropic upstream's entries are already). */
function anthropicModel(entry: ModelEntry): ModelEntry {
  if (entry.type === 'model') return entry;
  return {
    type: 'model',
    id: entry.id,
    display_name: entry.id,
    created_at: new Date((entry.created ?? 0) * 1000).toISOString(),
  };
}

function anthropicList(entries: ModelEntry[]) {
  const data = entries.map(anthropicModel);
  return { data, has_more: false, first_id: data[0]?.id ?? null, last_id: data.at(-1)?.id ?? null };
}

async function unionOfModels(ctx: RequestContext, hub: StageDeps, route: RouteMatch): Promise<ModelEntry[]> {
  const identity = ctx.identity;
  const acl = hub.config.acl;
  const lists = await Promise.all(route.shared.map((upstream) => upstreamModels(upstream, ctx, hub.clock.now())));
  const seen = new Set<string>();
  const data: ModelEntry[] = [];
  const add = (entry: ModelEntry, mayUse: () => boolean) => {
    if (seen.has(entry.id) || (identity && !mayUse())) return;
    seen.add(entry.id);
    data.push(entry);
  };
  route.shared.forEach((upstream, index) => {
    const name = upstream.config.name;
    const globs = upstream.config.models;
    const mayUse = (id: string) => () => mayUseModel(acl, identity!, name, id);
    for (const entry of lists[index]!) {
      if (!globs || anyGlobMatch(globs, entry.id)) add(entry, mayUse(entry.id));
    }
    for (const declared of globs ?? []) {
      if (!/[*?]/.test(declared)) add({ id: declared, object: 'model', created: 0, owned_by: name }, mayUse(declared));
    }
  });
  for (const alias of hub.router.aliasNames()) {
    let targets: ReturnType<StageDeps['router']['plan']>['targets'];
    try {
      targets = hub.router.plan(route, alias).targets;
    } catch {
      continue; // nothing on this route serves it
    }
    add(aliasEntry(alias), () =>
      targets.some((target) => mayUseModel(acl, identity!, target.upstream.config.name, alias, target.model)),
    );
  }
  return data;
}

function aliasEntry(alias: string): ModelEntry {
  return { id: alias, object: 'model', created: 0, owned_by: 'aifd' };
}

/** One upstream's own list; empty when it has none, or cannot be asked (no usable key, an error). */
async function upstreamModels(upstream: UpstreamRuntime, ctx: RequestContext, now: number): Promise<ModelEntry[]> {
  const config = upstream.config;
  if (upstream.passThrough) {
    const credential: Record<string, string> = {};
    for (const name of ['authorization', 'api-key', 'x-api-key']) {
      const value = ctx.req.headers[name];
      if (typeof value === 'string') credential[name] = value;
    }
    return (await askForList(upstream, credential)) ?? [];
  }
  const cached = listCache.get(upstream);
  if (cached && now - cached.at < LIST_TTL_MS) return cached.entries;
  const lease = upstream.pool.acquire(undefined, new Set());
  if (!lease) return [];
  try {
    const entries = await askForList(upstream, keyHeaders(config, lease.key.secret));
    if (entries) listCache.set(upstream, { at: now, entries });
    return entries ?? [];
  } finally {
    upstream.pool.release(lease, undefined);
  }
}

/** The upstream's `GET /v1/models` entries; undefined when it gave no list. */
async function askForList(
  upstream: UpstreamRuntime,
  credential: Record<string, string>,
): Promise<ModelEntry[] | undefined> {
  const { timeouts } = upstream.config;
  try {
    const { status, body } = await fetchModelList(
      upstream.config,
      credential,
      Math.min(timeouts.connectMs, timeouts.firstByteMs),
      upstream.agent,
    );
    return status === 200 ? modelEntries(body) : undefined;
  } catch {
    return undefined;
  }
}
