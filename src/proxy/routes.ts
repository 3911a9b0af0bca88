import type { UpstreamRuntime } from './upstreams.js';

export interface RouteMatch {
  upstream: UpstreamRuntime;
  /** The path (with query) the upstream sees: the route prefix stripped. */
  forwardPath: string;
  /** The path without query, as the client sent it (for logs). */
  pathname: string;
  /** The forwarded path without query: the API path rules, limits and the cache look at. */
  apiPath: string;
}

/** Longest prefix wins; the prefix is stripped before forwarding. */
export class RouteTable {
  private readonly entries: UpstreamRuntime[];

  constructor(upstreams: readonly UpstreamRuntime[]) {
    this.entries = [...upstreams].sort((a, b) => b.config.route.length - a.config.route.length);
  }

  match(url: string): RouteMatch | undefined {
    const queryAt = url.indexOf('?');
    const pathname = queryAt === -1 ? url : url.slice(0, queryAt);
    for (const upstream of this.entries) {
      const prefix = upstream.config.route;
      if (prefix === '/') return { upstream, forwardPath: url, pathname, apiPath: pathname };
      if (pathname === prefix || pathname.startsWith(prefix + '/')) {
        const rest = url.slice(prefix.length);
        const forwardPath = rest.startsWith('/') ? rest : '/' + rest;
        const apiPath = pathname.slice(prefix.length) || '/';
        return { upstream, forwardPath, pathname, apiPath };
      }
    }
    return undefined;
  }
}
