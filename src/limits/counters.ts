/**
 * Atomic counters with expiry, on rate-limiter-flexible: memory, the SQLite store, or Redis (so
 * several aifd instances count together). aifd's limits, token limits and budgets are all counters
 * here; the library does the atomic increment and the expiry, the windows are aifd's (aligned to
 * the clock, so tests move time instead of sleeping).
 */
import {
  RateLimiterMemory,
  RateLimiterRedis,
  RateLimiterSQLite,
  type RateLimiterAbstract,
  type RateLimiterStoreAbstract,
} from 'rate-limiter-flexible';
import sqlite3 from 'sqlite3';
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { Redis } from 'ioredis';

export interface Counters {
  /** Adds `points` to `key` (kept `ttlMs` after its first add) and returns the new total. */
  add(key: string, points: number, ttlMs: number): Promise<number>;
  /** Takes `points` back from `key`. */
  remove(key: string, points: number): Promise<void>;
  /** The current total of `key` (0 when absent or expired). */
  get(key: string): Promise<number>;
  close(): Promise<void>;
}

export type CounterBackend =
  | { kind: 'memory' }
  | { kind: 'sqlite'; file: string }
  | { kind: 'redis'; url: string; prefix: string };

const UNLIMITED = Number.MAX_SAFE_INTEGER;

export async function openCounters(backend: CounterBackend): Promise<Counters> {
  let limiter: RateLimiterAbstract;
  let close: () => Promise<void> = async () => undefined;
  const base = { points: UNLIMITED, duration: 60, keyPrefix: 'aifd' };
  if (backend.kind === 'memory') {
    limiter = new RateLimiterMemory(base);
  } else if (backend.kind === 'sqlite') {
    await mkdir(path.dirname(backend.file), { recursive: true });
    const db = await new Promise<sqlite3.Database>((resolve, reject) => {
      const opened = new sqlite3.Database(backend.file, (err) => (err ? reject(err) : resolve(opened)));
    });
    db.configure('busyTimeout', 5000);
    await new Promise<void>((resolve, reject) => {
      limiter = new RateLimiterSQLite({ ...base, storeClient: db, storeType: 'sqlite3', tableName: 'aifd_limits' }, (err?: Error) => (err ? reject(err) : resolve()));
    });
    close = () => new Promise((resolve) => db.close(() => resolve()));
  } else {
    const client = new Redis(backend.url, { enableOfflineQueue: false, maxRetriesPerRequest: 1, lazyConnect: true });
    client.on('error', () => undefined);
    await client.connect();
    limiter = new RateLimiterRedis({ ...base, keyPrefix: `${backend.prefix}limits`, storeClient: client });
    close = async () => {
      client.disconnect();
    };
  }
  const store = limiter! as RateLimiterStoreAbstract;
  return {
    async add(key, points, ttlMs) {
      const result = await store.consume(key, points, { customDuration: Math.max(1, Math.ceil(ttlMs / 1000)) });
      return result.consumedPoints;
    },
    async remove(key, points) {
      if (points > 0) await store.reward(key, points);
    },
    async get(key) {
      const result = await store.get(key);
      return result?.consumedPoints ?? 0;
    },
    close,
  };
}
