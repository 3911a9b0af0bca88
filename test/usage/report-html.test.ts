import { describe, expect, it } from 'vitest';
import type { AccessRecord } from '../../src/logs/access-record.js';
import { priceTable } from '../../src/usage/prices.js';
import { ReportBuilder } from '../../src/usage/report-data.js';
import { BudgetTally } from '../../src/usage/report-budgets.js';
import { renderReportHtml } from '../../src/usage/report-html.js';

const since = new Date('2026-12-01T00:00:00Z');
const until = new Date('2026-12-08T00:00:00Z');
const prices = priceTable({ 'gpt-4o-mini*': { input: 1, output: 2 } });

const record = (over: Partial<AccessRecord>): AccessRecord =>
  ({
    ts: '2026-12-03T10:00:00.000Z',
    id: 'r',
    user: 'ann',
    ip: '127.0.0.1',
    method: 'POST',
    route: '/',
    path: '/v1/chat/completions',
    model: 'gpt-4o-mini',
    alias: null,
    stream: false,
    status: 200,
    upstream: 'openai',
    key: 'abc',
    attempts: 1,
    cache: null,
    ttfbMs: 10,
    overheadMs: 1,
    queueMs: 0,
    durationMs: 100,
    usage: { prompt_tokens: 1000, completion_tokens: 500, total_tokens: 1500 },
    usageSource: 'upstream',
    error: null,
    ...over,
  }) as AccessRecord;

describe('the usage report', () => {
  it('adds spend per day by user and model, errors by code and latency, and escapes what records hold', () => {
    const builder = new ReportBuilder(prices, since, until);
    builder.add(record({ id: 'a1' }));
    builder.add(record({ id: 'a2', ts: '2026-12-04T10:00:00.000Z', durationMs: 300 }));
    builder.add(record({ id: 'b1', user: '<script>alert(1)</script>', model: 'o3-mini', usage: null }));
    builder.add(record({ id: 'e1', user: 'bob', status: 429, error: 'rate_limit_exceeded', usage: null }));
    builder.add(record({ id: 'old', ts: '2026-11-20T10:00:00.000Z' }));
    const data = builder.build();
    expect(data.days).toEqual(['2026-12-03', '2026-12-04']);
    expect(data.totals.requests).toBe(4);
    // 1000 input at $1/M and 500 output at $2/M: $0.002 a request.
    expect(data.users[0]).toMatchObject({ name: 'ann', costUsd: [0.002, 0.002], requests: 2 });
    expect(data.perDay[0]).toMatchObject({ requests: 3, errors: 1, errorsByCode: { rate_limit_exceeded: 1 } });
    expect(data.perDay[1]!.p50Ms).toBe(300);
    // An answer from the cache costs nothing: no upstream billed it.
    const withHit = new ReportBuilder(prices, since, until);
    withHit.add(record({ id: 'h', cache: 'hit' }));
    expect(withHit.build().totals).toMatchObject({ requests: 1, costUsd: 0, tokens: 1500 });

    const html = renderReportHtml(data);
    expect(html).not.toContain('<script>alert(1)</script>');
    expect(html).toContain('&lt;script&gt;alert(1)&lt;/script&gt;');
    expect(html).not.toMatch(/(src|href)=["']?https?:/);
    expect(html).toMatch(/<td>ann<\/td><td>\$0\.0020<\/td><td>\$0\.0020<\/td><td>\$0\.0040<\/td>/);
    expect(html).toContain('rate_limit_exceeded 1');
    expect((html.match(/<rect class="bar"/g) ?? []).length).toBeGreaterThanOrEqual(3);
  });

  it('draws the ten who spent most and adds the rest up as others', () => {
    const builder = new ReportBuilder(prices, since, until);
    for (let i = 0; i < 14; i++)
      builder.add(
        record({
          id: `u${i}`,
          user: `user-${String(i).padStart(2, '0')}`,
          usage: { prompt_tokens: 1000 * (i + 1), completion_tokens: 0, total_tokens: 1000 * (i + 1) },
        }),
      );
    const names = builder.build().users.map((one) => one.name);
    expect(names).toHaveLength(11);
    expect(names[0]).toBe('user-13');
    expect(names[10]).toBe('others (4)');
  });

  it("shows each user's budgets and how much of each its period has used, from before the report's start too", () => {
    const budgets = {
      timezone: 'UTC',
      unpriced: 'deny' as const,
      users: {
        ann: { daily: 0.01, monthly: 0.05, soft: 0.8 },
        '*': { weekly: 0.004, soft: 0.8 },
        '<b>carl</b>': { daily: 1, soft: 0.8 },
      },
    };
    // The report ends on Monday 7 December 12:00 and starts on the 6th: the month began on the 1st.
    const end = new Date('2026-12-07T12:00:00Z');
    const tally = new BudgetTally(budgets, prices, end);
    expect(tally.from?.toISOString()).toBe('2026-12-01T00:00:00.000Z');
    const builder = new ReportBuilder(prices, new Date('2026-12-06T00:00:00Z'), end, tally);
    builder.add(record({ id: 'm', ts: '2026-12-02T09:00:00.000Z' })); // ann, this month only
    builder.add(record({ id: 'd', ts: '2026-12-07T09:00:00.000Z' })); // ann, today
    builder.add(record({ id: 'hit', ts: '2026-12-07T09:30:00.000Z', cache: 'hit' })); // costs nothing
    builder.add(record({ id: 'late', ts: '2026-12-07T13:00:00.000Z' })); // after the report's end
    builder.add(record({ id: 'b-last-week', user: 'bob', ts: '2026-12-06T09:00:00.000Z' })); // Sunday: last week
    builder.add(record({ id: 'b', user: 'bob', ts: '2026-12-07T08:00:00.000Z' }));
    builder.add(record({ id: 'b2', user: 'bob', ts: '2026-12-07T08:10:00.000Z' }));
    const data = builder.build();
    const use = Object.fromEntries(data.budgets!.map((b) => [`${b.user} ${b.period}`, [b.limitUsd, b.spentUsd]]));
    expect(use).toEqual({
      'ann daily': [0.01, 0.002],
      'ann monthly': [0.05, 0.004],
      'bob weekly': [0.004, 0.004],
      '<b>carl</b> daily': [1, 0],
    });
    expect(data.budgets![0]).toMatchObject({ user: 'bob', share: 1, startsAt: '2026-12-07T00:00:00.000Z' });
    // The charts keep to the report's own period: two of ann's requests and the two of bob's that day count.
    expect(data.totals.requests).toBe(5);

    const html = renderReportHtml(data);
    expect(html).toContain('<table id="budgets">');
    expect(html).toMatch(
      /<td>ann<\/td><td>monthly<\/td><td>2026-12-01 – 2027-01-01<\/td><td>\$0\.0500<\/td><td>\$0\.0040<\/td><td>8\.0 %<\/td>/,
    );
    expect(html).toContain('<meter min="0" max="1"');
    expect(html).toContain('&lt;b&gt;carl&lt;/b&gt;');
    expect(html).not.toContain('<b>carl</b>');
    // Without budgets there is no section.
    expect(renderReportHtml(new ReportBuilder(prices, since, until).build())).not.toContain('id="budgets"');
  });

  it('says so for a period with no data', () => {
    const html = renderReportHtml(new ReportBuilder(prices, since, until).build());
    expect(html).toContain('No requests were recorded in this period');
  });

  it('stays under 5 MB for 1,000,000 records', () => {
    const builder = new ReportBuilder(prices, since, until);
    const base = record({});
    for (let i = 0; i < 1_000_000; i++) {
      base.ts = `2026-12-0${1 + (i % 7)}T10:00:00.000Z`;
      base.user = `user-${i % 50}`;
      base.durationMs = i % 1000;
      builder.add(base);
    }
    const html = renderReportHtml(builder.build());
    expect(html).toContain('<td>1000000</td>');
    expect(Buffer.byteLength(html)).toBeLessThan(5 * 1024 * 1024);
  });
});
