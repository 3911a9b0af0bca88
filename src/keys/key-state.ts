/** A pool key, what is known of it (its state), and the pool's timings: the data the pool works on. */
import type { PoolKeyConfig } from '../config/schema.js';
import { keyHash } from '../util/hash.js';
import { maskKey } from '../util/redact.js';
import type { KeyVerdict } from './classify.js';
import type { RateLimitSnapshot } from './ratelimit-headers.js';

/** One upstream key as the pool holds it. `secret` never leaves this process except upstream. */
export interface PoolKey {
  /** Short hash of the secret: the key's name in logs, state and `keys list`. */
  readonly hash: string;
  readonly masked: string;
  readonly secret: string;
  readonly label: string | undefined;
  readonly weight: number;
  readonly models: readonly string[] | undefined;
}

export type KeyStatus = 'ok' | 'cooling' | 'revoked' | 'over_quota';

/** What the pool knows of one key. Times are epoch milliseconds. */
export interface KeyState {
  status: KeyStatus;
  /** When the status last changed (here or, through a shared store, on another instance). */
  statusAt: number;
  /** Why the key is not ok. */
  reason: string | undefined;
  /** When a cooling key may be tried again, or an over-quota key rechecked. */
  until: number | undefined;
  /** After cooling, the next request is a lone probe (circuit breaker half-open). */
  probeAfterCooling: boolean;
  probing: boolean;
  consecutiveFailures: number;
  inFlight: number;
  requests: number;
  promptTokens: number;
  completionTokens: number;
  /** Requests lately, decayed with a one-minute half-life (fair share and req/min). */
  recent: number;
  recentAt: number;
  lastError: string | undefined;
  lastErrorAt: number | undefined;
  lastUsedAt: number | undefined;
  limitRequests: number | undefined;
  limitTokens: number | undefined;
  remainingRequests: number | undefined;
  remainingTokens: number | undefined;
  requestsResetAt: number | undefined;
  tokensResetAt: number | undefined;
}

export interface PoolTimings {
  /** Cooldown after a 429 that says nothing about when to come back. */
  defaultRateLimitCooldownMs: number;
  /** First cooldown after a 5xx or connect error; doubles on repeats up to the max. */
  failureCooldownMs: number;
  maxFailureCooldownMs: number;
  /** How long an over-quota key rests before one request rechecks it. */
  overQuotaRecheckMs: number;
}

export const DEFAULT_TIMINGS: PoolTimings = {
  defaultRateLimitCooldownMs: 2000,
  failureCooldownMs: 1000,
  maxFailureCooldownMs: 60_000,
  overQuotaRecheckMs: 15 * 60_000,
};

export interface Lease {
  readonly key: PoolKey;
  /** Whether this request is the lone probe of a key coming back. */
  readonly probe: boolean;
}

export interface Outcome {
  verdict: KeyVerdict;
  /** A short description for `lastError` (never the key). */
  error?: string;
  rateLimit?: RateLimitSnapshot;
  retryAfterMs?: number;
}

export function toPoolKey(entry: PoolKeyConfig): PoolKey {
  const config = typeof entry === 'string' ? { key: entry, weight: 1 } : entry;
  return {
    hash: keyHash(config.key),
    masked: maskKey(config.key),
    secret: config.key,
    label: 'name' in config ? config.name : undefined,
    weight: config.weight,
    models: 'models' in config ? config.models : undefined,
  };
}

export function freshState(now: number): KeyState {
  return {
    status: 'ok',
    statusAt: 0,
    reason: undefined,
    until: undefined,
    probeAfterCooling: false,
    probing: false,
    consecutiveFailures: 0,
    inFlight: 0,
    requests: 0,
    promptTokens: 0,
    completionTokens: 0,
    recent: 0,
    recentAt: now,
    lastError: undefined,
    lastErrorAt: undefined,
    lastUsedAt: undefined,
    limitRequests: undefined,
    limitTokens: undefined,
    remainingRequests: undefined,
    remainingTokens: undefined,
    requestsResetAt: undefined,
    tokensResetAt: undefined,
  };
}
