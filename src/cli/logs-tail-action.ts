/** `aifd logs tail`: the access log as a readable table (or its lines, `--json`), following new ones. */
import chalk from 'chalk';
import {
  accessLogEnd,
  followAccessLog,
  isStatusFilter,
  readAccessLog,
  type AccessFilter,
  type TailedRecord,
} from '../logs/access-tail.js';
import type { AccessRecord } from '../logs/access-record.js';
import { parseTimeArg } from '../util/time-arg.js';
import { CliError, EXIT_USAGE } from './exit-codes.js';
import { formatMs, visibleWidth } from './output.js';
import { logsDir } from './logs-dir.js';

export interface TailCliOptions {
  config?: string;
  dir?: string;
  follow?: boolean;
  user?: string;
  model?: string;
  status?: string;
  since?: string;
  lines: string;
  json?: boolean;
}

/** Columns and their widths; the last (the error) takes what is left. */
const COLUMNS: [string, number][] = [
  ['TIME', 23],
  ['STATUS', 6],
  ['USER', 14],
  ['METHOD', 6],
  ['PATH', 26],
  ['MODEL', 24],
  ['TOKENS', 8],
  ['TIME TAKEN', 10],
  ['ERROR', 0],
];

export async function tail(options: TailCliOptions): Promise<void> {
  const last = Number(options.lines);
  if (!Number.isInteger(last) || last < 0) throw new CliError(`--lines "${options.lines}" is not a count`, EXIT_USAGE);
  if (options.status !== undefined && !isStatusFilter(options.status))
    throw new CliError(`--status "${options.status}" is not a status (404) or a class (4xx)`, EXIT_USAGE);
  const since = options.since === undefined ? undefined : parseTimeArg(options.since);
  if (options.since !== undefined && !since)
    throw new CliError(`--since "${options.since}" is not a time (an ISO date, or a duration such as 1h)`, EXIT_USAGE);
  const filter: AccessFilter = { user: options.user, model: options.model, status: options.status, since };
  const dir = options.dir ?? (await logsDir(options.config));

  const print = (tailed: TailedRecord) =>
    process.stdout.write(options.json ? `${tailed.line}\n` : `${row(tailed.record)}\n`);
  // Where the log ends now, before anything is printed: the lines before are read, the follower
  // prints every line after (one written as soon as the header shows is among those).
  const end = options.follow ? await accessLogEnd(dir) : undefined;
  if (!options.json) process.stdout.write(`${chalk.bold(line(COLUMNS.map(([name]) => name)))}\n`);
  const read = await readAccessLog(dir, filter, last, end);
  for (const tailed of read.records) print(tailed);
  if (read.skipped > 0) process.stderr.write(chalk.yellow(`${read.skipped} line(s) that are not records skipped\n`));
  if (!options.follow) return;

  const stop = new AbortController();
  process.once('SIGINT', () => stop.abort());
  process.once('SIGTERM', () => stop.abort());
  await followAccessLog(dir, filter, print, stop.signal, end);
}

function row(record: AccessRecord): string {
  const status = String(record.status ?? '-');
  const colored = status.startsWith('2')
    ? chalk.green(status)
    : status.startsWith('4')
      ? chalk.yellow(status)
      : chalk.red(status);
  return line([
    record.ts.replace('T', ' ').replace('Z', ''),
    colored,
    record.user ?? '-',
    record.method,
    record.path,
    record.model ?? '-',
    record.usage ? String(record.usage.total_tokens) : '-',
    formatMs(record.durationMs),
    record.error ?? '',
  ]);
}

/** Cells cut or padded to their column (colors take no width). */
function line(cells: string[]): string {
  return cells
    .map((cell, column) => {
      const widthOf = COLUMNS[column]![1];
      if (widthOf === 0) return cell;
      const visible = visibleWidth(cell);
      if (visible > widthOf) return `${cell.slice(0, widthOf - 1)}…`;
      return cell + ' '.repeat(widthOf - visible);
    })
    .join(' ')
    .trimEnd();
}
