/**
 * Coalescing across instances on Redis: the first instance to miss a cache key claims it
 * (`SET … NX PX`), fills it, then deletes the claim and announces the key on a channel; another
 * instance that misses the same key meanwhile waits for that announcement and reads the entry.
 * When Redis is away every instance fills for itself (a claim that cannot be made is ours).
 */
import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import { redisClient } from '../store/open-store.js';
import type { SharedFills } from './shared-fills.js';

/** How long a claim holds (a filler that died frees it by then). */
const CLAIM_MS = 120_000;

export class ClusterFills implements SharedFills {
  private readonly waiters = new Map<string, Set<() => void>>();
  private readonly instance = randomUUID();

  private constructor(
    private readonly client: Redis,
    private readonly subscriber: Redis,
    private readonly prefix: string,
  ) {
    subscriber.on('message', (_channel: string, key: string) => this.wake(key));
  }

  static async open(url: string, prefix: string): Promise<ClusterFills> {
    const [client, subscriber] = await Promise.all([redisClient(url), redisClient(url, { offlineQueue: true })]);
    await Promise.all([client.connect(), subscriber.connect()]);
    const fills = new ClusterFills(client, subscriber, prefix);
    // ioredis subscribes again by itself after a reconnect.
    await subscriber.subscribe(fills.channel);
    return fills;
  }

  private get channel(): string {
    return `${this.prefix}cache-filled`;
  }

  private claimKey(key: string): string {
    return `${this.prefix}cache-claim:${key}`;
  }

  /** Whether this instance should fill `key` (true also when Redis cannot say). */
  async claim(key: string): Promise<boolean> {
    try {
      return (await this.client.set(this.claimKey(key), this.instance, 'PX', CLAIM_MS, 'NX')) === 'OK';
    } catch {
      return true;
    }
  }

  /** Frees a claim and tells waiting instances that the key is settled (filled or not). */
  async release(key: string): Promise<void> {
    try {
      await this.client.del(this.claimKey(key));
      await this.client.publish(this.channel, key);
    } catch {
      // the claim expires by itself; waiters time out
    }
  }

  /**
   * Resolves when the instance filling `key` is done, or the claim is gone, or `timeoutMs` passed.
   * `filled` is checked after listening starts, so an announcement just before is not missed.
   */
  async waitFor(key: string, timeoutMs: number, filled: () => Promise<boolean>): Promise<void> {
    let wake!: () => void;
    const woken = new Promise<void>((resolve) => (wake = resolve));
    const set = this.waiters.get(key) ?? new Set();
    set.add(wake);
    this.waiters.set(key, set);
    const timer = setTimeout(wake, timeoutMs);
    try {
      if (await filled()) return;
      const claimed = await this.client.exists(this.claimKey(key)).catch(() => 0);
      if (claimed === 0) return;
      await woken;
    } finally {
      clearTimeout(timer);
      set.delete(wake);
      if (set.size === 0) this.waiters.delete(key);
    }
  }

  private wake(key: string): void {
    for (const wake of this.waiters.get(key) ?? []) wake();
  }

  async close(): Promise<void> {
    this.client.disconnect();
    this.subscriber.disconnect();
  }
}
