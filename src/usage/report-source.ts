/** The usage report's data from the access log of `logs.dir`: every file from `since`'s day to `until`'s. */
import type { HubConfig } from '../config/schema.js';
import { accessLogFiles, parseAccessLine } from '../logs/access-tail.js';
import { eachLogLine } from '../logs/log-file-lines.js';
import { priceTable } from './prices.js';
import { ReportBuilder, type ReportData } from './report-data.js';

export async function reportFromAccessLog(config: HubConfig, since: Date, until: Date): Promise<ReportData> {
  const builder = new ReportBuilder(priceTable(config.prices), since, until);
  const days = { from: since.toISOString().slice(0, 10), to: until.toISOString().slice(0, 10) };
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
