/**
 * The response cache: opt-in exact-match entries in the store (keyv: SQLite by default, Redis when
 * the store is Redis), with a TTL kept on our clock, a maximum entry size, and coalescing: an
 * identical request that arrives while the first is in flight waits for it.
 */
import type Keyv from 'keyv';
import type { Clock } from '../util/clock.js';
import type { CacheEntry } from './entry.js';
import { cacheStats, type CacheStats } from './stats.js';

export interface CacheOptions {
  ttlMs: number;
  maxEntryBytes: number;
}

export interface CacheCounters {
  hits: number;
  misses: number;
  bypasses: number;
  stored: number;
}

export class ResponseCache {
  private readonly inFlight = new Map<string, Promise<CacheEntry | undefined>>();
  readonly counters: CacheCounters = { hits: 0, misses: 0, bypasses: 0, stored: 0 };

  constructor(
    private readonly kv: Keyv,
    private readonly clock: Clock,
    private readonly options: CacheOptions,
  ) {}

  async get(key: string): Promise<CacheEntry | undefined> {
    const entry = (await this.kv.get(key)) as CacheEntry | undefined;
    if (!entry) return undefined;
    if (entry.expiresAt <= this.clock.now()) {
      await this.kv.delete(key);
      return undefined;
    }
    return entry;
  }

  /**
   * Claims `key` for a request going upstream. Returns undefined when this request is the first
   * (it must call `settle` when done), or the promise of the first one's entry to wait for.
   */
  join(key: string): { wait: Promise<CacheEntry | undefined> } | { settle: (entry: CacheEntry | undefined) => void } {
    const pending = this.inFlight.get(key);
    if (pending) return { wait: pending };
    let settle!: (entry: CacheEntry | undefined) => void;
    const promise = new Promise<CacheEntry | undefined>((resolve) => (settle = resolve));
    this.inFlight.set(key, promise);
    return {
      settle: (entry) => {
        this.inFlight.delete(key);
        settle(entry);
      },
    };
  }

  /** Builds and stores an entry; undefined when it is too large. */
  async put(key: string, body: Record<string, unknown>, usage: CacheEntry['usage']): Promise<CacheEntry | undefined> {
    const now = this.clock.now();
    const entry: CacheEntry = { body, usage, storedAt: now, expiresAt: now + this.options.ttlMs };
    if (Buffer.byteLength(JSON.stringify(body)) > this.options.maxEntryBytes) return undefined;
    await this.kv.set(key, entry, this.options.ttlMs);
    this.counters.stored++;
    return entry;
  }

  async clear(): Promise<void> {
    await this.kv.clear();
  }

  stats(): Promise<CacheStats> {
    return cacheStats(this.kv, this.clock.now());
  }
}
