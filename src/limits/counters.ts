/**
 * Atomic counters with expiry: in memory, in memory saved behind to the SQLite store, or in Redis on
 * rate-limiter-flexible (so several aifd instances count together). aifd's limits, token limits and
 * budgets are all counters here; the windows are aifd's (aligned to the clock, so tests move time
 * instead of sleeping).
 */
import { RateLimiterRedis, type RateLimiterStoreAbstract } from 'rate-limiter-flexible';
import { AifdError } from '../errors.js';
import type { StoreHealth } from '../store/store-health.js';
import { redisClient } from '../store/open-store.js';
import type { SqliteFile } from '../store/sqlite-file.js';

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
  /** `flushMs`: how often touched counters are saved (1 s). */
  | { kind: 'sqlite'; file: string; flushMs?: number }
  | {
      kind: 'redis';
      url: string;
      prefix: string;
      /** While Redis is away: count in this instance's memory (open), or refuse (closed). */
      onDown: 'open' | 'closed';
      health?: StoreHealth;
    };

const UNLIMITED = Number.MAX_SAFE_INTEGER;

export async function openCounters(backend: CounterBackend): Promise<Counters> {
  if (backend.kind === 'redis') return redisCounters(backend);
  const memory = new MemoryCounters();
  return backend.kind === 'sqlite'
    ? persistedCounters(memory, await counterTable(backend.file), backend.flushMs)
    : memory;
}

const BASE = { points: UNLIMITED, duration: 60, keyPrefix: 'aifd' };

interface MemoryEntry {
  points: number;
  expiresAt: number;
}

/**
 * Counters in this process's memory, expired when read and by a sweep once a minute.
 * rate-limiter-flexible's memory store arms one timer per key for its whole lifetime, and Node fires
 * a timer longer than 2^31-1 ms (24.8 days) after 1 ms: a monthly window or budget vanished at once.
 */
class MemoryCounters implements Counters {
  private readonly entries = new Map<string, MemoryEntry>();
  private readonly sweeper = setInterval(() => this.sweep(), 60_000);

  constructor() {
    this.sweeper.unref();
  }

  async add(key: string, points: number, ttlMs: number): Promise<number> {
    const entry = this.live(key);
    if (entry) return (entry.points += points);
    this.entries.set(key, { points, expiresAt: Date.now() + Math.max(1, ttlMs) });
    return points;
  }

  async remove(key: string, points: number): Promise<void> {
    const entry = this.live(key);
    if (entry && points > 0) entry.points -= points;
  }

  async get(key: string): Promise<number> {
    return this.live(key)?.points ?? 0;
  }

  /** Milliseconds until `key` expires (0 when absent). */
  async remainingMs(key: string): Promise<number> {
    const entry = this.live(key);
    return entry ? entry.expiresAt - Date.now() : 0;
  }

  async close(): Promise<void> {
    clearInterval(this.sweeper);
  }

  private live(key: string): MemoryEntry | undefined {
    const entry = this.entries.get(key);
    if (entry && entry.expiresAt <= Date.now()) {
      this.entries.delete(key);
      return undefined;
    }
    return entry;
  }

  private sweep(): void {
    const now = Date.now();
    for (const [key, entry] of this.entries) if (entry.expiresAt <= now) this.entries.delete(key);
  }
}

function limiterCounters(store: RateLimiterStoreAbstract, close: () => Promise<void>): Counters {
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

/**
 * Redis counters. Commands fail at once while Redis is away (no offline queue), and then this
 * instance counts in its own memory (`open`), or the request is refused with 503 (`closed`). ioredis
 * reconnects by itself; counting in Redis resumes when it is back.
 */
async function redisCounters(backend: Extract<CounterBackend, { kind: 'redis' }>): Promise<Counters> {
  const client = await redisClient(backend.url);
  const health = backend.health;
  client.on('error', (err: Error) => health?.failed('counters', err.message));
  // 'end' is our own disconnect (shutdown), not an outage.
  client.on('close', () => client.status !== 'end' && health?.failed('counters', 'connection closed'));
  client.on('ready', () => health?.ready('counters'));
  await client.connect();
  const limiter = new RateLimiterRedis({ ...BASE, keyPrefix: `${backend.prefix}limits`, storeClient: client });
  const counters = limiterCounters(limiter, async () => {
    client.disconnect();
  });
  return backend.onDown === 'open'
    ? countingInMemoryWhenDown(counters, new MemoryCounters())
    : refusingWhenDown(counters);
}

/** `open`: while Redis cannot be reached, this instance counts alone, in memory. */
function countingInMemoryWhenDown(counters: Counters, insurance: MemoryCounters): Counters {
  return {
    add: (key, points, ttlMs) => counters.add(key, points, ttlMs).catch(() => insurance.add(key, points, ttlMs)),
    remove: (key, points) => counters.remove(key, points).catch(() => insurance.remove(key, points)),
    get: (key) => counters.get(key).catch(() => insurance.get(key)),
    close: async () => {
      await insurance.close();
      await counters.close();
    },
  };
}

/** `closed`: a counter that cannot be reached refuses the request instead of guessing. */
function refusingWhenDown(counters: Counters): Counters {
  const refuse = (err: unknown): never => {
    throw new AifdError(
      'store_unavailable',
      'the limits store (Redis) cannot be reached; requests are refused until it is back',
      {
        retryAfterSec: 5,
        cause: err,
      },
    );
  };
  return {
    add: (key, points, ttlMs) => counters.add(key, points, ttlMs).catch(refuse),
    remove: (key, points) => counters.remove(key, points).catch(refuse),
    get: (key) => counters.get(key).catch(refuse),
    close: () => counters.close(),
  };
}

/** The table counters are saved in (rate-limiter-flexible's SQLite layout, which earlier versions wrote). */
async function counterTable(file: string): Promise<SqliteFile> {
  const { openSqliteFile } = await import('../store/sqlite-file.js');
  const db = await openSqliteFile(file);
  await db.run(
    'CREATE TABLE IF NOT EXISTS aifd_limits (key TEXT PRIMARY KEY, points INTEGER NOT NULL DEFAULT 0, expire INTEGER)',
  );
  return db;
}

/** How a counter's key is saved: rate-limiter-flexible's layout, which earlier versions wrote. */
const SAVED_KEY_PREFIX = `${BASE.keyPrefix}:`;

/** Rows per INSERT: three parameters each, under SQLite's oldest limit of 999. */
const ROWS_PER_INSERT = 300;

/**
 * Counters in memory, written behind to SQLite: a write to disk on every request would cost more
 * than the whole proxy hop. Every touched counter is saved within `flushMs` and on close, and read
 * back at start, so spend survives a restart (a crash loses at most the last `flushMs`).
 *
 * Saved with plain multi-row INSERTs, each atomic by itself. rate-limiter-flexible's SQLite `set`
 * wraps each row in a savepoint that, with node-sqlite3, can stay open and hold the file's write
 * lock: the SQL sink in the same file then waited out its busy timeout, and shutdown took 40 s.
 */
async function persistedCounters(memory: MemoryCounters, db: SqliteFile, flushMs = 1000): Promise<Counters> {
  await restore(memory, db);
  const dirty = new Set<string>();
  const flush = async () => {
    const keys = [...dirty];
    dirty.clear();
    const rows: { key: string; points: number; expire: number }[] = [];
    for (const key of keys) {
      const [points, remaining] = await Promise.all([memory.get(key), memory.remainingMs(key)]);
      if (remaining > 0) rows.push({ key, points, expire: Date.now() + remaining });
    }
    for (let at = 0; at < rows.length; at += ROWS_PER_INSERT) {
      const chunk = rows.slice(at, at + ROWS_PER_INSERT);
      try {
        const values = chunk.flatMap((row) => [SAVED_KEY_PREFIX + row.key, row.points, row.expire]);
        await db.run(
          `INSERT OR REPLACE INTO aifd_limits (key, points, expire) VALUES ${chunk.map(() => '(?, ?, ?)').join(', ')}`,
          values,
        );
      } catch (err) {
        // This chunk and the ones after it are saved with the next flush.
        for (const row of rows.slice(at)) dirty.add(row.key);
        throw err;
      }
    }
  };
  const timer = setInterval(() => void flush().catch(() => undefined), flushMs);
  timer.unref();
  return {
    add(key, points, ttlMs) {
      dirty.add(key);
      return memory.add(key, points, ttlMs);
    },
    remove(key, points) {
      dirty.add(key);
      return memory.remove(key, points);
    },
    get: (key) => memory.get(key),
    async close() {
      clearInterval(timer);
      await flush().catch(() => undefined);
      await db.close();
      await memory.close();
    },
  };
}

/** Reads every unexpired counter back from the table rate-limiter-flexible keeps in SQLite. */
async function restore(memory: Counters, db: SqliteFile): Promise<void> {
  const rows = await db.all<{ key: string; points: number; expire: number | null }>(
    'SELECT key, points, expire FROM aifd_limits WHERE expire IS NULL OR expire > ?',
    [Date.now()],
  );
  for (const row of rows) {
    const key = row.key.startsWith(SAVED_KEY_PREFIX) ? row.key.slice(SAVED_KEY_PREFIX.length) : row.key;
    await memory.add(key, row.points, row.expire ? row.expire - Date.now() : 86_400_000);
  }
}
