/**
 * The usage report as a person sees it: rendered in Debian's Chromium (headless, driven by
 * playwright-core), after known traffic. The bars and tables hold those numbers, the table filters,
 * the page asks nothing of the network and logs no error; a screenshot is left in test-results/.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { chromium, type Browser } from 'playwright-core';
import type { AccessRecord } from '../../src/logs/access-record.js';
import { priceTable } from '../../src/usage/prices.js';
import { ReportBuilder } from '../../src/usage/report-data.js';
import { BudgetTally } from '../../src/usage/report-budgets.js';
import { renderReportHtml } from '../../src/usage/report-html.js';

const CHROMIUM = '/usr/bin/chromium';
let browser: Browser;
let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'aifd-report-'));
  browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
});
afterAll(async () => {
  await browser?.close();
  await rm(dir, { recursive: true, force: true });
});

/** Known traffic: three users over two days, two models, a few errors. */
function knownTraffic(): AccessRecord[] {
  const records: AccessRecord[] = [];
  const add = (user: string, day: string, model: string, status: number, tokens: [number, number]) =>
    records.push({
      ts: `${day}T12:00:0${records.length % 10}.000Z`,
      id: `r${records.length}`,
      user,
      ip: '127.0.0.1',
      method: 'POST',
      route: '/',
      path: model.startsWith('text-') ? '/v1/embeddings' : '/v1/chat/completions',
      model,
      alias: null,
      stream: false,
      status,
      upstream: 'openai',
      key: 'abc',
      attempts: 1,
      cache: null,
      ttfbMs: 20,
      overheadMs: 1,
      queueMs: 0,
      durationMs: 50 + records.length,
      usage:
        status === 200
          ? { prompt_tokens: tokens[0], completion_tokens: tokens[1], total_tokens: tokens[0] + tokens[1] }
          : null,
      usageSource: status === 200 ? 'upstream' : null,
      error: status === 200 ? null : status === 429 ? 'rate_limit_exceeded' : 'upstream_error',
    });
  for (let i = 0; i < 3; i++) add('ann', '2026-12-05', 'gpt-4o-mini', 200, [1000, 500]);
  for (let i = 0; i < 2; i++) add('bob', '2026-12-06', 'gpt-4o-mini', 200, [2000, 0]);
  add('bob', '2026-12-06', 'text-embedding-3-small', 200, [1000, 0]);
  add('<b>cara</b>', '2026-12-06', 'gpt-4o-mini', 429, [0, 0]);
  add('<b>cara</b>', '2026-12-06', 'gpt-4o-mini', 502, [0, 0]);
  return records;
}

describe.skipIf(!existsSync(CHROMIUM))('the usage report in Chromium', () => {
  it('shows the known traffic in its bars and tables, filters, asks nothing of the network', async () => {
    const prices = priceTable({
      'gpt-4o-mini*': { input: 1, output: 2 },
      'text-embedding-3-small': { input: 1, output: 0 },
    });
    const until = new Date('2026-12-08T00:00:00Z');
    // ann has a budget of her own; everyone else the one for '*'.
    const budgets = new BudgetTally(
      {
        timezone: 'UTC',
        unpriced: 'deny',
        users: { ann: { monthly: 0.01, soft: 0.8 }, '*': { monthly: 0.02, soft: 0.8 } },
      },
      prices,
      until,
    );
    const builder = new ReportBuilder(prices, new Date('2026-12-01T00:00:00Z'), until, budgets);
    for (const record of knownTraffic()) builder.add(record);
    const file = path.join(dir, 'report.html');
    await writeFile(file, renderReportHtml(builder.build()));

    const page = await browser.newPage({ viewport: { width: 1200, height: 1400 } });
    const requests: string[] = [];
    const problems: string[] = [];
    page.on('request', (request) => requests.push(request.url()));
    page.on('console', (message) => message.type() === 'error' && problems.push(message.text()));
    page.on('pageerror', (err) => problems.push(err.message));
    await page.goto(pathToFileURL(file).href);

    // ann: 3 × ($0.001 + $0.001) on the 5th; bob: 2 × $0.002 + $0.001 on the 6th.
    const bars = await page.$$eval('#spend-users rect.bar', (rects) =>
      rects.map((rect) => [
        rect.getAttribute('data-series'),
        rect.getAttribute('data-day'),
        Number(rect.getAttribute('data-value')),
      ]),
    );
    expect(bars).toEqual(
      expect.arrayContaining([
        ['ann', '2026-12-05', expect.closeTo(0.006, 9)],
        ['bob', '2026-12-06', expect.closeTo(0.005, 9)],
      ]),
    );
    const rows = await page.$$eval('#spend-users-table tr', (trs) => trs.map((tr) => tr.textContent ?? ''));
    expect(rows.some((row) => row.startsWith('ann') && row.includes('$0.0060'))).toBe(true);
    expect(await page.textContent('#totals')).toContain('8');
    // Budgets: ann has used $0.006 of $0.01 this month, bob $0.005 of $0.02.
    const budgetRows = await page.$$eval('#budgets tr', (trs) =>
      trs
        .slice(1)
        .map((tr) => [tr.children[0]!.textContent, tr.children[5]!.textContent, tr.querySelector('meter')?.value]),
    );
    expect(budgetRows).toEqual(
      expect.arrayContaining([
        ['ann', '60.0 %', expect.closeTo(0.6, 4)],
        ['bob', '25.0 %', expect.closeTo(0.25, 4)],
      ]),
    );
    const days = await page.$$eval('#days tr', (trs) =>
      trs.slice(1).map((tr) => [...tr.children].map((td) => td.textContent)),
    );
    expect(days[1]!.slice(0, 3)).toEqual(['2026-12-06', '5', '2']);
    expect(days[1]![4]).toContain('rate_limit_exceeded 1');
    // The user name with markup in it is text, not markup.
    expect(await page.locator('#latest tbody tr td:nth-child(2)', { hasText: '<b>cara</b>' }).count()).toBe(2);

    await page.selectOption('#filter-user', 'bob');
    expect(await page.textContent('#shown')).toBe('3 shown');
    await page.selectOption('#filter-user', '');
    await page.selectOption('#filter-status', '5xx');
    expect(await page.textContent('#shown')).toBe('1 shown');
    await page.selectOption('#filter-status', '');
    await page.fill('#filter-path', 'embeddings');
    expect(await page.textContent('#shown')).toBe('1 shown');
    await page.fill('#filter-path', '');

    expect(requests).toEqual([pathToFileURL(file).href]);
    expect(problems).toEqual([]);
    await mkdir('test-results', { recursive: true });
    await page.screenshot({ path: 'test-results/usage-report.png', fullPage: true });
    await page.close();
  });
});
