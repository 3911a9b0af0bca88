/** The `cache` command's definition; its work loads only when it runs (so `aifd --help` stays fast). */
import type { Command } from 'commander';
import type { CacheOptions } from './cache-action.js';

export function makeCacheCommand(program: Command): void {
  const cache = program.command('cache').description('the response cache');
  cache
    .command('stats')
    .description('what the response cache holds (and, from a running daemon, its hits and misses)')
    .option('-c, --config <file>', 'config file')
    .option('--token <token>', 'admin token')
    .option('--json', 'print JSON')
    .action(async (options: CacheOptions) => (await import('./cache-action.js')).stats(options, 'GET'));
  cache
    .command('clear')
    .description('empty the response cache')
    .option('-c, --config <file>', 'config file')
    .option('--token <token>', 'admin token')
    .option('--json', 'print JSON')
    .action(async (options: CacheOptions) => (await import('./cache-action.js')).stats(options, 'DELETE'));
}
