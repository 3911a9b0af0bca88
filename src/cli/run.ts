/** The `run` command's definition; its work loads only when it runs (so `aifd --help` stays fast). */
import type { Command } from 'commander';
import type { RunOptions } from './run-action.js';
import { parsePort, parseWorkers } from './options.js';

export function makeRunCommand(program: Command): void {
  program
    .command('run')
    .description('start the gateway daemon')
    .option('-c, --config <file>', 'config file (default: search for hub.config.json, .aifdrc*, aifd.config.*)')
    .option('--host <host>', 'listen address (overrides listen.host)')
    .option('-p, --port <port>', 'listen port (overrides listen.port)', parsePort)
    .option('--admin-port <port>', 'admin listener port (overrides admin.port; 0 picks a free one)', parsePort)
    .option(
      '-w, --workers <n>',
      'worker processes behind the one port, or auto: one per core (overrides listen.workers)',
      parseWorkers,
    )
    .option('-q, --quiet', 'no banner; only warnings and errors on the console')
    .option('--watch-config', 'reload the config when its file changes (SIGHUP and POST /reload always do)')
    .action(async (options: RunOptions) => (await import('./run-action.js')).runDaemon(options));
}
