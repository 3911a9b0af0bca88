import { describe, expect, it } from 'vitest';
import { LiveStats } from '../../src/admin/live-stats.js';
import type { AccessRecord } from '../../src/logs/access-record.js';

const record = (durationMs: number, extra: Partial<AccessRecord> = {}) => ({ durationMs, status: 200, error: null, user: 'ann', path: '/v1/chat/completions', usage: null, ...extra }) as AccessRecord;

describe('live totals of the last minute', () => {
  it('counts only the last minute, percentiles included', () => {
    const stats = new LiveStats();
    const t0 = 1_000_000;
    for (let i = 0; i < 100; i++) stats.add(record(1000), t0);
    for (let i = 1; i <= 100; i++) stats.add(record(i, i % 10 === 0 ? { status: 502, error: 'upstream_unreachable' } : {}), t0 + 30_000);
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
});
