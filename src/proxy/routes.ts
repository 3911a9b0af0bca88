import type { UpstreamRuntime } from './upstreams.js';

export interface RouteMatch {
  /** The route's upstream for a request that names no model (the one tried is `ctx.upstream`). */
  readonly upstream: UpstreamRuntime;
  /** Every upstream on the matched route prefix, in config order (one unless they share it). */
  readonly shared: readonly UpstreamRuntime[];
  /** The path (with query) the upstream sees: the route prefix stripped. */
  readonly forwardPath: string;
  /** The path without query, as the client sent it (for logs). */
  readonly pathname: string;
  /** The forwarded path without query: the API path rules, limits and the cache look at. */
  readonly apiPath: string;
}

interface Route {
  prefix: string;
  upstreams: UpstreamRuntime[];
  /** The upstream for requests that name no model: the one without `models`, else the first. */
  fallback: UpstreamRuntime;
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
      .map(([prefix, list]) => ({
        prefix,
        upstreams: list,
        fallback: list.find((upstream) => !upstream.config.models) ?? list[0]!,
      }))
      .sort((a, b) => b.prefix.length - a.prefix.length);
  }

  match(url: string): RouteMatch | undefined {
    const queryAt = url.indexOf('?');
    const pathname = queryAt === -1 ? url : url.slice(0, queryAt);
    for (const route of this.entries) {
      const { prefix } = route;
      if (prefix === '/')
        return { upstream: route.fallback, shared: route.upstreams, forwardPath: url, pathname, apiPath: pathname };
      if (pathname === prefix || pathname.startsWith(prefix + '/')) {
        const rest = url.slice(prefix.length);
        const forwardPath = rest.startsWith('/') ? rest : '/' + rest;
        const apiPath = pathname.slice(prefix.length) || '/';
        return { upstream: route.fallback, shared: route.upstreams, forwardPath, pathname, apiPath };
      }
    }
    return undefined;
  }
}
