import type { KeyValueSpace } from '../store/key-value.js';
import type { CacheEntry } from './entry.js';

export interface CacheStats {
  entries: number;
  bytes: number;
  expired: number;
  oldest: string | null;
  newest: string | null;
}

/** Walks the cache namespace once: what it holds, how big, how old. */
export async function cacheStats(kv: KeyValueSpace, now: number): Promise<CacheStats> {
  const stats: CacheStats = { entries: 0, bytes: 0, expired: 0, oldest: null, newest: null };
  let oldest = Infinity;
  let newest = -Infinity;
  for await (const [, value] of kv.entries()) {
    const entry = value as CacheEntry;
    if (!entry || typeof entry !== 'object') continue;
    if (entry.expiresAt <= now) {
      stats.expired++;
      continue;
    }
    stats.entries++;
    stats.bytes += Buffer.byteLength(JSON.stringify(entry.body));
    oldest = Math.min(oldest, entry.storedAt);
    newest = Math.max(newest, entry.storedAt);
  }
  if (stats.entries > 0) {
    stats.oldest = new Date(oldest).toISOString();
    stats.newest = new Date(newest).toISOString();
  }
  return stats;
}
