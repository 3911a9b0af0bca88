/** Who and what a request is, as limits count it. */
export interface LimitSubject {
  user: string | undefined;
  roles: readonly string[];
  ip: string;
  anonymous: boolean;
  /** The API path as forwarded, the route prefix taken off (for `limits.routes`). */
  path: string;
  /** The path as the client sent it, route prefix included (`limits.routes` may name either). */
  pathname?: string;
  /** Lower limits carried by the caller's token. */
  claims?: { requests?: string; tokens?: string; id: string };
}

/** Who a per-caller counter counts: the user, or the address of an anonymous caller. */
export function callerKey(subject: LimitSubject): string {
  return subject.anonymous || subject.user === undefined ? `ip:${subject.ip}` : `user:${subject.user}`;
}

/**
 * The rate a route table gives a request: by the full path (route prefix included, as
 * openai-forward's REQ_RATE_LIMIT names them), else by the API path, else `*`, which stands for
 * every path not named and counts each on its own.
 */
export function routeRate(
  table: Record<string, string> | undefined,
  subject: LimitSubject,
): { route: string; rate: string } | undefined {
  if (!table) return undefined;
  if (subject.pathname !== undefined && table[subject.pathname])
    return { route: subject.pathname, rate: table[subject.pathname]! };
  if (table[subject.path]) return { route: subject.path, rate: table[subject.path]! };
  return table['*'] ? { route: subject.pathname ?? subject.path, rate: table['*'] } : undefined;
}
