/**
 * The usage report's data, from either source `aifd usage` knows: the access log of `logs.dir`
 * (every file from the first day needed to `until`'s) or the SQL sink's table, read a page at a time.
 */
import type { HubConfig } from '../config/schema.js';
import { accessLogFiles, parseAccessLine } from '../logs/access-tail.js';
import { eachLogLine } from '../logs/log-file-lines.js';
import { forEachRecord } from '../logs/sinks/dialect.js';
import { openDialect, sinkUrl } from '../logs/sinks/open-dialect.js';
import { priceTable } from './prices.js';
import { ReportBuilder, type ReportData, type ReportDimension } from './report-data.js';
import { BudgetTally } from './report-budgets.js';

/** Where the report reads: the access log, or the SQL sink at `url`. */
export type ReportSource = { kind: 'log' } | { kind: 'sink'; url: string };

export type ReportSourceChoice = 'auto' | 'log' | 'sink';

/** The source asked for (`auto`: the access log when it is kept, else the SQL sink), or why there is none. */
export function reportSource(config: HubConfig, choice: ReportSourceChoice): ReportSource | string {
  const url = sinkUrl(config);
  if (choice === 'log' || (choice === 'auto' && config.logs.access))
    return config.logs.access ? { kind: 'log' } : 'the report reads the access log, and logs.access is off';
  if (url) return { kind: 'sink', url };
  return choice === 'sink'
    ? 'no SQL sink is configured (logs.sink is none, and the store is not SQLite)'
    : 'there is nothing to read: logs.access is off and no SQL sink is configured';
}

export async function buildReport(
  config: HubConfig,
  source: ReportSource,
  since: Date,
  until: Date,
  by: ReportDimension = 'user',
): Promise<ReportData> {
  const prices = priceTable(config.prices);
  const budgets = new BudgetTally(config.limits?.budgets, prices, until);
  const builder = new ReportBuilder(prices, since, until, budgets, by);
  // Budgets count from their periods' start, which may lie before `since`.
  const from = budgets.from && budgets.from < since ? budgets.from : since;
  if (source.kind === 'log') await readAccessLog(config, builder, from, until);
  else await readSink(source.url, builder, from, until);
  return builder.build();
}

async function readAccessLog(config: HubConfig, builder: ReportBuilder, from: Date, until: Date): Promise<void> {
  const days = { from: from.toISOString().slice(0, 10), to: until.toISOString().slice(0, 10) };
  for (const log of await accessLogFiles(config.logs.dir, days)) {
    const whole = await eachLogLine(log, (line) => {
      const record = parseAccessLine(line);
      if (record) builder.add(record);
      else builder.skipped++;
    });
    if (!whole) builder.skipped++;
  }
}

async function readSink(url: string, builder: ReportBuilder, from: Date, until: Date): Promise<void> {
  const dialect = await openDialect(url);
  try {
    await dialect.prepare();
    await forEachRecord(dialect, from, until, (record) => builder.add(record));
  } finally {
    await dialect.close();
  }
}
