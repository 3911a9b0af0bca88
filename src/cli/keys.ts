/** The `keys` command's definition; its work loads only when it runs (so `aifd --help` stays fast). */
import type { Command } from 'commander';
import type { KeysOptions } from './keys-action.js';

export function makeKeysCommand(program: Command): void {
  const keys = program.command('keys').description('the upstream key pool');
  keys
    .command('list')
    .description('each pool key: status, load, usage, rate-limit state (live from the daemon when it runs)')
    .option('-c, --config <file>', 'config file')
    .option('--token <token>', 'admin token (default: admin.token or AIFD_ADMIN_TOKEN)')
    .option('--json', 'print JSON')
    .action(async (options: KeysOptions) => (await import('./keys-action.js')).listKeys(options));
  keys
    .command('check')
    .description('probe every key against its upstream now (GET /v1/models); exit 1 when any is unusable')
    .option('-c, --config <file>', 'config file')
    .option('--upstream <name>', 'only this upstream')
    .option('--token <token>', 'admin token (default: admin.token or AIFD_ADMIN_TOKEN)')
    .option('--json', 'print JSON')
    .action(async (options: KeysOptions) => (await import('./keys-action.js')).checkKeys(options));
}
