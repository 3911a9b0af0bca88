/** A key's state as people read it: `keys list`, the admin listener, `aifd top`. Never the key. */
import type { KeyPool, KeyState, PoolKey } from './pool.js';

type KeyDisplayStatus = 'ok' | 'cooling' | 'half_open' | 'exhausted' | 'revoked' | 'over_quota';

/** How a pool key is named where several upstreams' keys meet (`upstream/hash`): live totals, merged views. */
export function poolKeyName(upstream: string, hash: string): string {
  return `${upstream}/${hash}`;
}

export interface KeyView {
  upstream: string;
  hash: string;
  key: string;
  label: string | null;
  weight: number;
  models: readonly string[] | null;
  status: KeyDisplayStatus;
  reason: string | null;
  /** Milliseconds until the key is expected to serve again (null when it serves, or only a check helps). */
  recoversInMs: number | null;
  inFlight: number;
  /** WebSocket sessions holding the key (each is also one of `inFlight`). */
  sessions: number;
  requests: number;
  promptTokens: number;
  completionTokens: number;
  requestsPerMinute: number;
  /** Tokens this key served in the last 60 s, as the live totals count them (the admin listener adds it). */
  tokensPerMinute?: number;
  remainingRequests: number | null;
  remainingTokens: number | null;
  resetRequestsInMs: number | null;
  resetTokensInMs: number | null;
  lastError: string | null;
  lastErrorAt: string | null;
  lastUsedAt: string | null;
}

function keyView(
  upstream: string,
  key: PoolKey,
  state: KeyState,
  now: number,
  requestsPerMinute: number,
  sessions: number,
): KeyView {
  const status = displayStatus(state, now);
  return {
    upstream,
    hash: key.hash,
    key: key.masked,
    label: key.label ?? null,
    weight: key.weight,
    models: key.models ?? null,
    status,
    reason:
      status === 'ok'
        ? null
        : (state.reason ?? (status === 'exhausted' ? 'rate-limit budget spent until reset' : null)),
    recoversInMs: recoversIn(status, state, now),
    inFlight: state.inFlight,
    sessions,
    requests: state.requests,
    promptTokens: state.promptTokens,
    completionTokens: state.completionTokens,
    requestsPerMinute: Math.round(requestsPerMinute * 10) / 10,
    remainingRequests: state.remainingRequests ?? null,
    remainingTokens: state.remainingTokens ?? null,
    resetRequestsInMs: future(state.requestsResetAt, now),
    resetTokensInMs: future(state.tokensResetAt, now),
    lastError: state.lastError ?? null,
    lastErrorAt: iso(state.lastErrorAt),
    lastUsedAt: iso(state.lastUsedAt),
  };
}

/** `sessions`: how many WebSocket sessions hold each key now. */
export function poolViews(
  upstream: string,
  pool: KeyPool,
  now: number,
  sessions?: ReadonlyMap<string, number>,
): KeyView[] {
  return pool.keys.map((key) =>
    keyView(upstream, key, pool.state(key.hash), now, pool.requestsPerMinute(key.hash), sessions?.get(key.hash) ?? 0),
  );
}

function displayStatus(state: KeyState, now: number): KeyDisplayStatus {
  if (state.status === 'revoked' || state.status === 'over_quota') return state.status;
  if (state.status === 'cooling') {
    if (state.until !== undefined && now < state.until) return 'cooling';
    if (state.probeAfterCooling) return 'half_open';
  }
  const spent =
    (state.remainingRequests === 0 && (state.requestsResetAt ?? 0) > now) ||
    (state.remainingTokens === 0 && (state.tokensResetAt ?? 0) > now);
  return spent ? 'exhausted' : 'ok';
}

function recoversIn(status: KeyDisplayStatus, state: KeyState, now: number): number | null {
  if (status === 'cooling' || status === 'over_quota') return future(state.until, now);
  if (status === 'exhausted') {
    const times = [state.requestsResetAt, state.tokensResetAt].filter((t): t is number => t !== undefined && t > now);
    return times.length > 0 ? Math.max(...times) - now : null;
  }
  return null;
}

function future(at: number | undefined, now: number): number | null {
  return at !== undefined && at > now ? at - now : null;
}

function iso(at: number | undefined): string | null {
  return at === undefined ? null : new Date(at).toISOString();
}
