import { describe, expect, it } from 'vitest';
import { dayBars } from '../../src/cli/usage-chart.js';
import type { UsageGroup } from '../../src/usage/report.js';

const day = (group: string, costUsd: number, requests: number) =>
  ({ group, costUsd, requests, errors: 0 }) as UsageGroup;

describe('per-day bars', () => {
  it('are as long as each day spent, the biggest day the whole width, a spending day never empty', () => {
    const text = dayBars([day('2026-12-02', 0.5, 10), day('2026-12-01', 1, 20), day('2026-12-03', 0.001, 1)]);
    const lines = text.trim().split('\n');
    expect(lines[0]).toContain('spend per day');
    const bars = lines.slice(1).map((line) => (line.match(/█/g) ?? []).length);
    expect(lines[1]).toMatch(/^2026-12-01/);
    expect(bars).toEqual([40, 20, 1]);
  });

  it('count requests when nothing is priced, and say nothing for no days', () => {
    expect(dayBars([day('2026-12-01', 0, 4), day('2026-12-02', 0, 2)])).toContain('requests per day');
    expect(dayBars([])).toBe('');
  });
});
