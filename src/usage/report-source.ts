/** The usage report's data from the access log of `logs.dir`: every file from `since`'s day to `until`'s. */
import type { HubConfig } from '../config/schema.js';
import { accessLogFiles, parseAccessLine } from '../logs/access-tail.js';
import { eachLogLine } from '../logs/log-file-lines.js';
import { priceTable } from './prices.js';
import { ReportBuilder, type ReportData } from './report-data.js';
import { BudgetTally } from './report-budgets.js';

export async function reportFromAccessLog(config: HubConfig, since: Date, until: Date): Promise<ReportData> {
  const prices = priceTable(config.prices);
  const budgets = new BudgetTally(config.limits?.budgets, prices, until);
  const builder = new ReportBuilder(prices, since, until, budgets);
  // Budgets count from their periods' start, which may lie before `since`.
  const from = budgets.from && budgets.from < since ? budgets.from : since;
  const days = { from: from.toISOString().slice(0, 10), to: until.toISOString().slice(0, 10) };
  for (const log of await accessLogFiles(config.logs.dir, days)) {
    const whole = await eachLogLine(log, (line) => {
      const record = parseAccessLine(line);
      if (record) builder.add(record);
      else builder.skipped++;
    });
    if (!whole) builder.skipped++;
  }
  return builder.build();
}
