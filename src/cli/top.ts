/** The `top` command's definition; Ink and React load only when it runs. */
import type { Command } from 'commander';
import type { TopOptions } from './top-action.js';

export function makeTopCommand(program: Command): void {
  program
    .command('top')
    .description('live terminal view of the running daemon: keys, users, totals, errors')
    .option('-c, --config <file>', 'config file (to find the daemon)')
    .option('--admin-url <url>', 'the admin listener (default: from the running daemon or the config)')
    .option('--token <token>', 'admin token (default: admin.token or AIFD_ADMIN_TOKEN)')
    .action(async (options: TopOptions) => (await import('./top-action.js')).top(options));
}
