import chalk from 'chalk';

// eslint-disable-next-line no-control-regex
const ANSI = /\u001b\[[0-9;]*m/g;

/** How many columns `text` takes on a terminal (its color codes take none). */
export function visibleWidth(text: string): number {
  return text.replace(ANSI, '').length;
}

/** A plain aligned table: header row, then rows; cells may carry colors. */
export function renderTable(headers: string[], rows: string[][]): string {
  const widths = headers.map((header, column) =>
    Math.max(visibleWidth(header), ...rows.map((row) => visibleWidth(row[column] ?? ''))),
  );
  const line = (cells: string[]) =>
    cells
      .map((cell, column) =>
        column === cells.length - 1 ? cell : cell + ' '.repeat(widths[column]! - visibleWidth(cell)),
      )
      .join('  ')
      .trimEnd();
  return [chalk.bold(line(headers)), ...rows.map(line)].join('\n') + '\n';
}

const STATUS_COLORS: Record<string, (text: string) => string> = {
  ok: chalk.green,
  rate_limited: chalk.yellow,
  cooling: chalk.yellow,
  half_open: chalk.yellow,
  exhausted: chalk.yellow,
  revoked: chalk.red,
  over_quota: chalk.red,
  unreachable: chalk.red,
  error: chalk.red,
};

export function colorStatus(status: string): string {
  return (STATUS_COLORS[status] ?? ((text: string) => text))(status);
}

/** 1234 ms → "1.2s", 90000 → "1m30s", null → "-". */
export function formatMs(ms: number | null | undefined): string {
  if (ms === null || ms === undefined) return '-';
  if (ms < 1000) return `${Math.round(ms)}ms`;
  const seconds = Math.round(ms / 100) / 10;
  if (seconds < 60) return `${seconds}s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 60) return `${minutes}m${Math.round(seconds % 60)}s`;
  return `${Math.floor(minutes / 60)}h${minutes % 60}m`;
}

export function printJson(value: unknown): void {
  process.stdout.write(JSON.stringify(value, null, 2) + '\n');
}
