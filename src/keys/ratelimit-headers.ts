import type { IncomingHttpHeaders } from 'node:http';

/** What one response's `x-ratelimit-*` headers say about the key that made it. */
export interface RateLimitSnapshot {
  limitRequests?: number;
  limitTokens?: number;
  remainingRequests?: number;
  remainingTokens?: number;
  /** Milliseconds until the request budget is full again. */
  resetRequestsMs?: number;
  resetTokensMs?: number;
}

const UNIT_MS: Record<string, number> = { h: 3_600_000, m: 60_000, s: 1000, ms: 1, us: 0.001, µs: 0.001, ns: 0.000001 };

/**
 * OpenAI's reset format is Go's duration syntax: `1s`, `6m0s`, `20ms`, `1h2m3.5s`, `0s`.
 * Returns milliseconds, or undefined when the text is not such a duration.
 */
export function parseOpenAIDuration(text: string): number | undefined {
  const trimmed = text.trim();
  if (trimmed === '') return undefined;
  if (/^\d+(\.\d+)?$/.test(trimmed)) return Number(trimmed) * 1000;
  const part = /(\d+(?:\.\d+)?)(ms|us|µs|ns|h|m|s)/gy;
  let total = 0;
  let consumed = 0;
  for (let match = part.exec(trimmed); match; match = part.exec(trimmed)) {
    total += Number(match[1]) * UNIT_MS[match[2]!]!;
    consumed = part.lastIndex;
  }
  return consumed === trimmed.length && consumed > 0 ? total : undefined;
}

export function parseRateLimitHeaders(headers: IncomingHttpHeaders, now = Date.now()): RateLimitSnapshot | undefined {
  if (
    headers['anthropic-ratelimit-requests-remaining'] !== undefined ||
    headers['anthropic-ratelimit-tokens-remaining'] !== undefined
  )
    return anthropicRateLimits(headers, now);
  if (headers['x-ratelimit-remaining-requests'] === undefined && headers['x-ratelimit-remaining-tokens'] === undefined)
    return undefined;
  return {
    limitRequests: integer(headers['x-ratelimit-limit-requests']),
    limitTokens: integer(headers['x-ratelimit-limit-tokens']),
    remainingRequests: integer(headers['x-ratelimit-remaining-requests']),
    remainingTokens: integer(headers['x-ratelimit-remaining-tokens']),
    resetRequestsMs: duration(headers['x-ratelimit-reset-requests']),
    resetTokensMs: duration(headers['x-ratelimit-reset-tokens']),
  };
}

/**
 * Anthropic's `anthropic-ratelimit-{requests,tokens}-{limit,remaining,reset}` headers
 * (docs.claude.com/en/api/rate-limits, read 2026-12-07): resets are RFC 3339 times, not durations.
 * Its `tokens` headers are the most restrictive of its input and output token limits.
 */
function anthropicRateLimits(headers: IncomingHttpHeaders, now: number): RateLimitSnapshot {
  return {
    limitRequests: integer(headers['anthropic-ratelimit-requests-limit']),
    limitTokens: integer(headers['anthropic-ratelimit-tokens-limit']),
    remainingRequests: integer(headers['anthropic-ratelimit-requests-remaining']),
    remainingTokens: integer(headers['anthropic-ratelimit-tokens-remaining']),
    resetRequestsMs: untilTime(headers['anthropic-ratelimit-requests-reset'], now),
    resetTokensMs: untilTime(headers['anthropic-ratelimit-tokens-reset'], now),
  };
}

function untilTime(value: string | string[] | undefined, now: number): number | undefined {
  if (typeof value !== 'string') return undefined;
  const at = Date.parse(value);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}

/** `Retry-After` in seconds or as an HTTP date; `retry-after-ms` (sent by some OpenAI-compatible servers) wins. */
export function parseRetryAfter(headers: IncomingHttpHeaders, now: number): number | undefined {
  const ms = headers['retry-after-ms'];
  if (typeof ms === 'string' && /^\d+(\.\d+)?$/.test(ms.trim())) return Number(ms);
  const value = headers['retry-after'];
  if (typeof value !== 'string') return undefined;
  if (/^\d+(\.\d+)?$/.test(value.trim())) return Number(value) * 1000;
  const date = Date.parse(value);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}

function integer(value: string | string[] | undefined): number | undefined {
  if (typeof value !== 'string' || !/^\d+$/.test(value.trim())) return undefined;
  return Number(value);
}

function duration(value: string | string[] | undefined): number | undefined {
  return typeof value === 'string' ? parseOpenAIDuration(value) : undefined;
}
