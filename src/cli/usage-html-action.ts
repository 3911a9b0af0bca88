/** `aifd usage --html FILE`: the usage report of the access logs in logs.dir, as one HTML file. */
import { writeFile } from 'node:fs/promises';
import type { HubConfig } from '../config/schema.js';
import { renderReportHtml } from '../usage/report-html.js';
import { reportFromAccessLog } from '../usage/report-source.js';
import { CliError, EXIT_USAGE } from './exit-codes.js';

export async function writeUsageHtml(config: HubConfig, file: string, since: Date, until: Date): Promise<void> {
  if (!config.logs.access)
    throw new CliError('the report reads the access log, and logs.access is off', EXIT_USAGE, 'turn on logs.access');
  const data = await reportFromAccessLog(config, since, until);
  await writeFile(file, renderReportHtml(data));
  process.stderr.write(
    `report written to ${file}: ${data.totals.requests} request(s) over ${data.days.length} day(s)${data.skipped > 0 ? `, ${data.skipped} line(s) that are not records skipped` : ''}\n`,
  );
}
