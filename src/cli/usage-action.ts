import chalk from 'chalk';
import { loadConfig } from '../config/load.js';
import type { UsageDimension } from '../logs/sinks/dialect.js';
import { openDialect, sinkUrl } from '../logs/sinks/open-dialect.js';
import { priceTable } from '../usage/prices.js';
import { buildUsageReport } from '../usage/report.js';
import { parseTimeArg } from '../util/time-arg.js';
import { CliError, EXIT_USAGE } from './exit-codes.js';
import { printJson, renderTable } from './output.js';
import { dayBars } from './usage-chart.js';

const DIMENSIONS: UsageDimension[] = ['user', 'model', 'key', 'day'];

export interface UsageOptions {
  config?: string;
  by: string;
  since: string;
  json?: boolean;
  /** `--no-chart` sets it false; the bars are drawn only on a terminal. */
  chart: boolean;
  /** Write the report as one HTML file here instead. */
  html?: string;
  until?: string;
  /** With --html: auto (the access log when it is kept, else the SQL sink), log or sink. */
  source: string;
}

export async function usage(options: UsageOptions): Promise<void> {
  if (!DIMENSIONS.includes(options.by as UsageDimension))
    throw new CliError(`--by must be one of ${DIMENSIONS.join(', ')}`, EXIT_USAGE);
  const since = parseTimeArg(options.since);
  if (!since)
    throw new CliError(`--since "${options.since}" is not a time (an ISO date, or a duration such as 7d)`, EXIT_USAGE);
  const { config } = await loadConfig({ configPath: options.config });
  if (options.html) {
    const until = options.until === undefined ? new Date() : parseTimeArg(options.until);
    if (!until) throw new CliError(`--until "${options.until}" is not a time`, EXIT_USAGE);
    const { writeUsageHtml } = await import('./usage-html-action.js');
    return writeUsageHtml(config, { file: options.html, since, until, source: options.source, by: options.by });
  }
  const url = sinkUrl(config);
  if (!url)
    throw new CliError('no SQL sink is configured (logs.sink is none, and the store is not SQLite)', EXIT_USAGE);
  const dialect = await openDialect(url);
  let report: ReturnType<typeof buildUsageReport>;
  let days: ReturnType<typeof buildUsageReport> = [];
  const drawn = !options.json && options.chart && process.stdout.isTTY === true;
  try {
    await dialect.prepare();
    const prices = priceTable(config.prices);
    report = buildUsageReport(await dialect.summarize(options.by as UsageDimension, since), prices);
    if (drawn) days = options.by === 'day' ? report : buildUsageReport(await dialect.summarize('day', since), prices);
  } finally {
    await dialect.close();
  }
  if (options.json) {
    printJson({ by: options.by, since: since.toISOString(), groups: report });
    return;
  }
  process.stderr.write(chalk.dim(`since ${since.toISOString()}, by ${options.by}\n`));
  if (report.length === 0) {
    process.stdout.write('no requests recorded in that time\n');
    return;
  }
  const total = report.reduce((sum, group) => sum + group.costUsd, 0);
  const unpricedTotal = report.reduce((sum, group) => sum + group.unpricedRequests, 0);
  process.stdout.write(
    renderTable(
      [
        options.by.toUpperCase(),
        'REQUESTS',
        'ERRORS',
        'PROMPT',
        'CACHED',
        'CACHE WRITE',
        'AUDIO IN',
        'COMPLETION',
        'REASONING',
        'AUDIO OUT',
        'COST USD',
        'UNPRICED',
      ],
      [
        ...report.map((group) => [
          group.group,
          String(group.requests),
          String(group.errors),
          String(group.promptTokens),
          String(group.cachedTokens),
          String(group.cacheWriteTokens),
          String(group.audioPromptTokens),
          String(group.completionTokens),
          String(group.reasoningTokens),
          String(group.audioCompletionTokens),
          group.costUsd.toFixed(4),
          group.unpricedRequests > 0 ? `${group.unpricedRequests} (${group.unpriced.join(', ')})` : '-',
        ]),
        [
          'total',
          String(report.reduce((s, g) => s + g.requests, 0)),
          '',
          '',
          '',
          '',
          '',
          '',
          '',
          '',
          unpricedTotal > 0 ? `≥ ${total.toFixed(4)}` : total.toFixed(4),
          unpricedTotal > 0 ? String(unpricedTotal) : '',
        ],
      ],
    ),
  );
  if (drawn) process.stdout.write(`\n${dayBars(days)}`);
}
