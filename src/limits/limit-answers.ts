/**
 * What a caller is told of its limits: OpenAI's `x-ratelimit-*` headers (and aifd's
 * `x-aifd-budget-*`) with its tightest limits, and the refusals.
 */
import { AifdError, type ErrorCode } from '../errors.js';

/** The caller's own limits, for `x-ratelimit-*` and `x-aifd-budget-*` headers. */
export type LimitHeaders = Record<string, string>;

export const MICRO_USD = 1_000_000;

/** One counter a request is held against. */
export interface CounterLimit {
  name: string;
  key: string;
  limit: number;
  /** Request and token windows slide or reset; budgets end with their calendar period. */
  window: { kind: 'rate'; durationMs: number } | { kind: 'period'; endsAt: number };
  /** For headers. */
  dimension: 'requests' | 'tokens' | 'budget';
  soft?: number;
}

export function unpricedRefusal(model: string | undefined, budget: string): AifdError {
  const what =
    model === undefined ? 'this request names no model, so its cost' : `the model "${model}" has no price, so its cost`;
  return new AifdError(
    'model_not_priced',
    `${what} cannot be counted against the ${budget}; ask the operator to add a price for it`,
    { param: 'model' },
  );
}

export function codeFor(limit: CounterLimit): ErrorCode {
  return limit.dimension === 'requests'
    ? 'rate_limit_exceeded'
    : limit.dimension === 'tokens'
      ? 'tokens_limit_exceeded'
      : 'budget_exceeded';
}

export function messageFor(limit: CounterLimit, points: number): string {
  if (limit.dimension === 'budget')
    return `the ${limit.name} of $${(limit.limit / MICRO_USD).toFixed(2)} would be exceeded by this request (reserved $${(points / MICRO_USD).toFixed(4)})`;
  if (limit.dimension === 'tokens')
    return `the ${limit.name} token limit of ${limit.limit} would be exceeded by this request (reserved ${points} tokens)`;
  return `the ${limit.name} request limit of ${limit.limit} is reached`;
}

/** Said to a session whose usage reached a limit. */
export function usedUpMessage(limit: CounterLimit): string {
  if (limit.dimension === 'budget') return `the ${limit.name} of $${(limit.limit / MICRO_USD).toFixed(2)} is used up`;
  return `the ${limit.name} token limit of ${limit.limit} is used up`;
}

export function headersFor(limit: CounterLimit, remaining: number, resetMs: number): LimitHeaders {
  const headers: LimitHeaders = {};
  mergeHeaders(headers, limit, remaining, resetMs);
  return headers;
}

/** Keeps, per dimension, the tightest limit the caller has: the one with the least remaining. */
export function mergeHeaders(headers: LimitHeaders, limit: CounterLimit, remaining: number, resetMs: number): void {
  const left = Math.max(0, Math.floor(remaining));
  if (limit.dimension === 'budget') {
    const name = 'x-aifd-budget-remaining-usd';
    if (headers[name] !== undefined && Number(headers[name]) * MICRO_USD <= left) return;
    headers['x-aifd-budget-limit-usd'] = (limit.limit / MICRO_USD).toFixed(2);
    headers[name] = (left / MICRO_USD).toFixed(4);
    headers['x-aifd-budget-reset'] = formatReset(resetMs);
    if (limit.soft !== undefined && limit.limit - left >= limit.soft * limit.limit)
      headers['x-aifd-budget-warning'] =
        `${limit.name}: ${Math.round(((limit.limit - left) / limit.limit) * 100)}% spent`;
    return;
  }
  const names = RATE_LIMIT_HEADERS[limit.dimension];
  const existing = headers[names.remaining];
  if (existing !== undefined && Number(existing) <= left) return;
  headers[names.limit] = String(limit.limit);
  headers[names.remaining] = String(left);
  headers[names.reset] = formatReset(resetMs);
}

/** OpenAI's rate-limit header names, per dimension. */
const RATE_LIMIT_HEADERS = {
  requests: {
    limit: 'x-ratelimit-limit-requests',
    remaining: 'x-ratelimit-remaining-requests',
    reset: 'x-ratelimit-reset-requests',
  },
  tokens: {
    limit: 'x-ratelimit-limit-tokens',
    remaining: 'x-ratelimit-remaining-tokens',
    reset: 'x-ratelimit-reset-tokens',
  },
} as const;

/** OpenAI's duration format: `6m0s`, `1s`, `20ms`. */
export function formatReset(ms: number): string {
  const value = Math.max(0, Math.round(ms));
  if (value < 1000) return `${value}ms`;
  const totalSeconds = Math.ceil(value / 1000);
  const hours = Math.floor(totalSeconds / 3600);
  const minutes = Math.floor((totalSeconds % 3600) / 60);
  const seconds = totalSeconds % 60;
  if (hours > 0) return `${hours}h${minutes}m${seconds}s`;
  if (minutes > 0) return `${minutes}m${seconds}s`;
  return `${seconds}s`;
}
