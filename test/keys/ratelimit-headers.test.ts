import { describe, expect, it } from 'vitest';
import { parseOpenAIDuration, parseRateLimitHeaders, parseRetryAfter } from '../../src/keys/ratelimit-headers.js';

describe('parseOpenAIDuration', () => {
  it('reads the formats OpenAI sends', () => {
    expect(parseOpenAIDuration('1s')).toBe(1000);
    expect(parseOpenAIDuration('6m0s')).toBe(360_000);
    expect(parseOpenAIDuration('20ms')).toBe(20);
    expect(parseOpenAIDuration('0s')).toBe(0);
    expect(parseOpenAIDuration('1h2m3.5s')).toBe(3_723_500);
    expect(parseOpenAIDuration('8.64s')).toBeCloseTo(8640);
    expect(parseOpenAIDuration('1m0s')).toBe(60_000);
  });
  it('rejects what is not a duration', () => {
    for (const bad of ['', 'soon', '5 s', '1x', 's', '-1s']) expect(parseOpenAIDuration(bad)).toBeUndefined();
  });
});

describe('parseRateLimitHeaders', () => {
  it('reads the recorded header set', () => {
    expect(
      parseRateLimitHeaders({
        'x-ratelimit-limit-requests': '30000',
        'x-ratelimit-limit-tokens': '150000000',
        'x-ratelimit-remaining-requests': '29999',
        'x-ratelimit-remaining-tokens': '149999990',
        'x-ratelimit-reset-requests': '2ms',
        'x-ratelimit-reset-tokens': '0s',
      }),
    ).toEqual({
      limitRequests: 30000,
      limitTokens: 150000000,
      remainingRequests: 29999,
      remainingTokens: 149999990,
      resetRequestsMs: 2,
      resetTokensMs: 0,
    });
  });
  it('says nothing when the headers are absent or garbled', () => {
    expect(parseRateLimitHeaders({ 'content-type': 'application/json' })).toBeUndefined();
    expect(
      parseRateLimitHeaders({ 'x-ratelimit-remaining-requests': 'lots', 'x-ratelimit-reset-requests': 'later' }),
    ).toEqual({
      limitRequests: undefined,
      limitTokens: undefined,
      remainingRequests: undefined,
      remainingTokens: undefined,
      resetRequestsMs: undefined,
      resetTokensMs: undefined,
    });
  });
});

describe('parseRetryAfter', () => {
  it('reads seconds, dates and retry-after-ms', () => {
    expect(parseRetryAfter({ 'retry-after': '3' }, 0)).toBe(3000);
    expect(parseRetryAfter({ 'retry-after-ms': '250', 'retry-after': '3' }, 0)).toBe(250);
    const now = Date.parse('2026-01-01T00:00:00Z');
    expect(parseRetryAfter({ 'retry-after': 'Thu, 01 Jan 2026 00:00:05 GMT' }, now)).toBe(5000);
    expect(parseRetryAfter({ 'retry-after': 'whenever' }, now)).toBeUndefined();
    expect(parseRetryAfter({}, now)).toBeUndefined();
  });
});
