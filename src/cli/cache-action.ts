import chalk from 'chalk';
import { loadConfig } from '../config/load.js';
import { cacheStats, type CacheStats } from '../cache/stats.js';
import { withStore } from './store-access.js';
import { adminRequest, daemonAddress } from './daemon-client.js';
import { CliError, EXIT_USAGE } from './exit-codes.js';
import { printJson } from './output.js';

export interface CacheOptions {
  config?: string;
  token?: string;
  json?: boolean;
}

type LiveStats = CacheStats & { counters?: Record<string, number> };

export async function stats(options: CacheOptions, method: 'GET' | 'DELETE'): Promise<void> {
  const { config } = await loadConfig({ configPath: options.config });
  const address = await daemonAddress(config, options.token);
  let result: LiveStats | undefined = address
    ? await adminRequest<LiveStats>(address, method, '/cache', 10_000)
    : undefined;
  const source = result ? 'daemon' : 'store';
  if (!result) {
    if (config.store === 'memory://')
      throw new CliError('the store is memory:// and no daemon answers: there is no cache to read', EXIT_USAGE);
    result = await withStore(config, async (store) => {
      const kv = store.namespace('cache');
      if (method === 'DELETE') await kv.clear();
      return cacheStats(kv, Date.now());
    });
  }
  if (options.json) {
    printJson({ source, ...result });
    return;
  }
  if (method === 'DELETE') process.stdout.write('cache cleared\n');
  process.stdout.write(
    `entries ${result.entries}  size ${(result.bytes / 1024).toFixed(1)} KiB  expired ${result.expired}  oldest ${result.oldest ?? '-'}  newest ${result.newest ?? '-'}\n`,
  );
  if (result.counters)
    process.stdout.write(
      `hits ${result.counters.hits}  misses ${result.counters.misses}  bypasses ${result.counters.bypasses}  stored ${result.counters.stored}\n`,
    );
  process.stderr.write(
    chalk.dim(source === 'daemon' ? 'from the running daemon\n' : 'from the store (daemon not running)\n'),
  );
}
