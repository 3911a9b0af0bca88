/** `aifd usage --html FILE`: the usage report, from the access log or the SQL sink, as one HTML file. */
import { writeFile } from 'node:fs/promises';
import type { HubConfig } from '../config/schema.js';
import type { ReportDimension } from '../usage/report-data.js';
import { renderReportHtml } from '../usage/report-html.js';
import { buildReport, reportSource, type ReportSourceChoice } from '../usage/report-source.js';
import { CliError, EXIT_USAGE } from './exit-codes.js';

const SOURCES: readonly ReportSourceChoice[] = ['auto', 'log', 'sink'];

export interface UsageHtmlOptions {
  file: string;
  since: Date;
  until: Date;
  source: string;
  /** `--by`; `day` stacks by user (the report is per day anyway). */
  by: string;
}

export async function writeUsageHtml(config: HubConfig, options: UsageHtmlOptions): Promise<void> {
  if (!SOURCES.includes(options.source as ReportSourceChoice))
    throw new CliError(`--source must be one of ${SOURCES.join(', ')}`, EXIT_USAGE);
  const source = reportSource(config, options.source as ReportSourceChoice);
  if (typeof source === 'string') throw new CliError(source, EXIT_USAGE);
  const by: ReportDimension = options.by === 'day' ? 'user' : (options.by as ReportDimension);
  const data = await buildReport(config, source, options.since, options.until, by);
  await writeFile(options.file, renderReportHtml(data));
  const from = source.kind === 'log' ? 'the access log' : 'the SQL sink';
  process.stderr.write(
    `report written to ${options.file} from ${from}: ${data.totals.requests} request(s) over ${data.days.length} day(s)${data.skipped > 0 ? `, ${data.skipped} line(s) that are not records skipped` : ''}\n`,
  );
}
