import { describe, expect, it } from 'vitest';
import { LiveStats } from '../../src/admin/live-stats.js';
import type { AccessRecord } from '../../src/logs/access-record.js';

const record = (durationMs: number, extra: Partial<AccessRecord> = {}) =>
  ({
    durationMs,
    status: 200,
    error: null,
    user: 'ann',
    path: '/v1/chat/completions',
    usage: null,
    ...extra,
  }) as AccessRecord;

describe('live totals of the last minute', () => {
  it('counts only the last minute, percentiles included', () => {
    const stats = new LiveStats();
    const t0 = 1_000_000;
    for (let i = 0; i < 100; i++) stats.add(record(1000), t0);
    for (let i = 1; i <= 100; i++)
      stats.add(record(i, i % 10 === 0 ? { status: 502, error: 'upstream_unreachable' } : {}), t0 + 30_000);
    const totals = stats.totals(t0 + 61_000);
    expect(totals.requestsPerSecond).toBeCloseTo(100 / 60, 2);
    // Percentiles come from a histogram with buckets 3 % apart.
    expect(totals.p50Ms).toBeGreaterThanOrEqual(51);
    expect(totals.p50Ms).toBeLessThanOrEqual(51 * 1.03);
    expect(totals.p99Ms).toBeGreaterThanOrEqual(100);
    expect(totals.p99Ms).toBeLessThanOrEqual(103);
    expect(totals.errorRate).toBe(0.1);
    expect(totals.recentErrors).toHaveLength(5);
    expect(stats.totals(t0 + 200_000).requestsPerSecond).toBe(0);
  });

  it('takes a quarter of a million records nobody reads, and counts the last minute of them', () => {
    const stats = new LiveStats();
    const t0 = 2_000_000;
    for (let i = 0; i < 250_000; i++) stats.add(record(1, { user: `user-${i % 7}` }), t0 + Math.floor(i / 2000) * 1000);
    // 2,000 a second for 125 s; at t0 + 125 s the window holds seconds 66 to 124.
    const totals = stats.totals(t0 + 125_000);
    expect(totals.requestsPerSecond).toBeCloseTo((59 * 2000) / 60, 1);
    expect(totals.users).toHaveLength(7);
    expect(totals.users.reduce((sum, user) => sum + user.requests, 0)).toBe(59 * 2000);
  });

  it('counts tokens per minute per key by the same definition as the total', () => {
    const stats = new LiveStats();
    const t0 = 3_000_000;
    const usage = (total: number) => ({ prompt_tokens: total - 1, completion_tokens: 1, total_tokens: total });
    // Spread over 90 s: only the last 60 s count, for the total and for each key alike.
    for (let s = 0; s < 90; s++) {
      stats.add(record(1, { upstream: 'openai', key: 'aaaaaaaaaaaa', usage: usage(100) }), t0 + s * 1000);
      stats.add(record(1, { upstream: 'openai', key: 'bbbbbbbbbbbb', usage: usage(50) }), t0 + s * 1000);
      if (s % 2 === 0)
        stats.add(record(1, { upstream: 'openai', key: 'cccccccccccc', usage: usage(30) }), t0 + s * 1000);
    }
    const totals = stats.totals(t0 + 89_500);
    expect(totals.tokensPerMinuteByKey).toEqual({
      'openai/aaaaaaaaaaaa': 6000,
      'openai/bbbbbbbbbbbb': 3000,
      'openai/cccccccccccc': 900,
    });
    expect(Object.values(totals.tokensPerMinuteByKey).reduce((sum, tokens) => sum + tokens, 0)).toBe(
      totals.tokensPerMinute,
    );
    // a cache hit (no key) is in the total only
    stats.add(record(1, { usage: usage(7) }), t0 + 89_600);
    expect(stats.totals(t0 + 89_700).tokensPerMinute).toBe(9907);
  });
});
