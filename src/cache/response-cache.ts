/**
 * The response cache: opt-in exact-match entries in the store (keyv: SQLite by default, Redis when
 * the store is Redis), with a TTL kept on our clock, a maximum entry size, and coalescing: an
 * identical request that arrives while the first is in flight waits for it.
 */
import type { KeyValueSpace } from '../store/key-value.js';
import type { Clock } from '../util/clock.js';
import type { Store } from '../store/open-store.js';
import type { HubConfig } from '../config/schema.js';
import type { CacheEntry } from './entry.js';
import { cacheStats, type CacheStats } from './stats.js';
import type { SharedFills } from './shared-fills.js';

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

/** How long an instance waits for another one filling the same key before going upstream itself. */
const CLUSTER_WAIT_MS = 120_000;

export class ResponseCache {
  private readonly inFlight = new Map<string, Promise<CacheEntry | undefined>>();
  /** Keys this instance claimed across the cluster (released when settled). */
  private readonly claimed = new Set<string>();
  readonly counters: CacheCounters = { hits: 0, misses: 0, bypasses: 0, stored: 0 };
  /** Coalescing across instances (a Redis store) or workers; undefined: within this process only. */
  cluster: SharedFills | undefined;

  /** The cache in a store's `cache` namespace, as the config sizes it. */
  static inStore(store: Store, clock: Clock, config: HubConfig['cache']): ResponseCache {
    return new ResponseCache(store.namespace('cache'), clock, {
      ttlMs: config.ttl,
      maxEntryBytes: config.maxEntrySize,
    });
  }

  constructor(
    private readonly kv: KeyValueSpace,
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
        if (this.claimed.delete(key)) void this.cluster?.release(key);
      },
    };
  }

  /**
   * For the first request of this instance to miss `key`: when another instance is already
   * filling it, waits for that and returns its entry; undefined when this instance is to fill it.
   */
  async filledElsewhere(key: string): Promise<CacheEntry | undefined> {
    const cluster = this.cluster;
    if (!cluster) return undefined;
    if (await cluster.claim(key)) {
      this.claimed.add(key);
      return undefined;
    }
    let entry: CacheEntry | undefined;
    await cluster.waitFor(key, CLUSTER_WAIT_MS, async () => (entry = await this.get(key)) !== undefined);
    return entry ?? this.get(key);
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
