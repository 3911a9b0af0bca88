/** `aifd usage --html FILE`: the usage report of the access logs in logs.dir, as one HTML file. */
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { HubConfig } from '../config/schema.js';
import { accessLogFiles, parseAccessLine } from '../logs/access-tail.js';
import { eachLogLine } from '../logs/log-file-lines.js';
import { priceTable } from '../usage/prices.js';
import { ReportBuilder } from '../usage/report-data.js';
import { renderReportHtml } from '../usage/report-html.js';
import { CliError, EXIT_USAGE } from './exit-codes.js';

export async function writeUsageHtml(config: HubConfig, file: string, since: Date, until: Date): Promise<void> {
  if (!config.logs.access)
    throw new CliError('the report reads the access log, and logs.access is off', EXIT_USAGE, 'turn on logs.access');
  const builder = new ReportBuilder(priceTable(config.prices), since, until);
  const first = since.toISOString().slice(0, 10);
  const last = until.toISOString().slice(0, 10);
  for (const log of await accessLogFiles(config.logs.dir)) {
    const day = /access-(\d{4}-\d{2}-\d{2})/.exec(path.basename(log))?.[1] ?? '';
    if (day < first || day > last) continue;
    const whole = await eachLogLine(log, (line) => {
      const record = parseAccessLine(line);
      if (record) builder.add(record);
      else builder.skipped++;
    });
    if (!whole) builder.skipped++;
  }
  const data = builder.build();
  await writeFile(file, renderReportHtml(data));
  process.stderr.write(
    `report written to ${file}: ${data.totals.requests} request(s) over ${data.days.length} day(s)${data.skipped > 0 ? `, ${data.skipped} line(s) that are not records skipped` : ''}\n`,
  );
}
