/** The `usage` command's definition; its work loads only when it runs (so `aifd --help` stays fast). */
import type { Command } from 'commander';
import type { UsageOptions } from './usage-action.js';

export function makeUsageCommand(program: Command): void {
  program
    .command('usage')
    .description('requests, tokens and cost from the recorded usage (the SQL sink)')
    .option('-c, --config <file>', 'config file')
    .option('--by <dimension>', 'group by user, model, key or day', 'user')
    .option('--since <time>', 'from this time (ISO date, or 7d for seven days ago)', '7d')
    .option('--until <time>', 'up to this time (with --html; default now)')
    .option('--html <file>', 'write the report (charts, budgets, the latest requests) as one HTML file')
    .option('--source <source>', 'with --html: auto (the access log when kept, else the SQL sink), log or sink', 'auto')
    .option('--json', 'print JSON')
    .option('--no-chart', 'no per-day bars (drawn only when stdout is a terminal)')
    .action(async (options: UsageOptions) => (await import('./usage-action.js')).usage(options));
}
