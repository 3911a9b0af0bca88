import type { ClientApi } from '../usage/api-kind.js';
import type { UpstreamRuntime } from './upstreams.js';

export interface RouteMatch {
  /** The route's upstream for a request that names no model (the one tried is `ctx.upstream`). */
  readonly upstream: UpstreamRuntime;
  /** The upstreams on the matched route prefix that speak the request's API, in config order. */
  readonly shared: readonly UpstreamRuntime[];
  /** The API the request speaks (and is answered in): its upstreams', or by its path where both share the route. */
  readonly api: ClientApi;
  /** The path (with query) the upstream sees: the route prefix stripped. */
  readonly forwardPath: string;
  /** The path without query, as the client sent it (for logs). */
  readonly pathname: string;
  /** The forwarded path without query: the API path rules, limits and the cache look at. */
  readonly apiPath: string;
}

interface Family {
  upstreams: UpstreamRuntime[];
  /** The upstream for requests that name no model: the one without `models`, else the first. */
  fallback: UpstreamRuntime;
}

interface Route {
  prefix: string;
  /** The route's upstreams by the API they speak (one family, unless both share the prefix). */
  families: Partial<Record<ClientApi, Family>>;
}

/**
 * Where OpenAI and Anthropic upstreams share a route, Anthropic's requests go to the Anthropic
 * ones: its Messages API paths, and any request with the `anthropic-version` header every
 * Anthropic client sends (its `GET /v1/models` too).
 */
function familyOf(route: Route, apiPath: string, anthropicClient: boolean): ClientApi {
  if (!route.families.anthropic) return 'openai';
  if (!route.families.openai) return 'anthropic';
  return anthropicClient || apiPath === '/v1/messages' || apiPath.startsWith('/v1/messages/') ? 'anthropic' : 'openai';
}

/** Longest prefix wins; the prefix is stripped before forwarding. */
export class RouteTable {
  private readonly entries: Route[];

  constructor(upstreams: readonly UpstreamRuntime[]) {
    const byPrefix = new Map<string, UpstreamRuntime[]>();
    for (const upstream of upstreams) {
      const list = byPrefix.get(upstream.config.route) ?? [];
      list.push(upstream);
      byPrefix.set(upstream.config.route, list);
    }
    this.entries = [...byPrefix]
      .map(([prefix, list]) => {
        const families: Route['families'] = {};
        for (const api of ['openai', 'anthropic'] as const) {
          const upstreams = list.filter((upstream) => upstream.config.api === api);
          if (upstreams.length > 0)
            families[api] = {
              upstreams,
              fallback: upstreams.find((upstream) => !upstream.config.models) ?? upstreams[0]!,
            };
        }
        return { prefix, families };
      })
      .sort((a, b) => b.prefix.length - a.prefix.length);
  }

  /** `anthropicClient`: the request says it speaks Anthropic's API (its `anthropic-version` header). */
  match(url: string, anthropicClient = false): RouteMatch | undefined {
    const queryAt = url.indexOf('?');
    const pathname = queryAt === -1 ? url : url.slice(0, queryAt);
    for (const route of this.entries) {
      const { prefix } = route;
      let forwardPath = url;
      let apiPath = pathname;
      if (prefix !== '/') {
        if (pathname !== prefix && !pathname.startsWith(prefix + '/')) continue;
        const rest = url.slice(prefix.length);
        forwardPath = rest.startsWith('/') ? rest : '/' + rest;
        apiPath = pathname.slice(prefix.length) || '/';
      }
      const api = familyOf(route, apiPath, anthropicClient);
      const family = route.families[api]!;
      return { upstream: family.fallback, shared: family.upstreams, api, forwardPath, pathname, apiPath };
    }
    return undefined;
  }
}
