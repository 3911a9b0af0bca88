/**
 * Totals over the last minute, for `GET /events` and `aifd top`: requests per second, error rate,
 * latency percentiles, tokens per minute, and the busiest users. Kept in one bucket per second
 * (counts, a latency histogram, per-user counts), so memory does not grow with traffic; read
 * only when a snapshot is asked for.
 */
import type { AccessRecord } from '../logs/access-record.js';
import { poolKeyName } from '../keys/snapshot.js';

export interface LiveTotals {
  requestsPerSecond: number;
  errorRate: number;
  p50Ms: number;
  p99Ms: number;
  /** Tokens of the answers that ended in the last 60 s (cache hits and pass-through included). */
  tokensPerMinute: number;
  /** The same, per pool key (`upstream/hash`): the part of `tokensPerMinute` each key served. */
  tokensPerMinuteByKey: Record<string, number>;
  users: { user: string; requests: number; tokens: number; nearest?: { limit: string; share: number } | null }[];
  recentErrors: { at: string; error: string; path: string; user: string | null }[];
}

const WINDOW_SECONDS = 60;
const RECENT_ERRORS = 5;

/** Latency histogram: bucket i holds durations up to LATENCY_BASE_MS · GROWTH^i (3 % apart). */
const LATENCY_BASE_MS = 0.1;
const GROWTH = 1.03;
const LATENCY_BUCKETS = Math.ceil(Math.log(3_600_000 / LATENCY_BASE_MS) / Math.log(GROWTH)) + 1;

interface Second {
  second: number;
  requests: number;
  failed: number;
  tokens: number;
  latency: Uint32Array;
  users: Map<string, { requests: number; tokens: number }>;
  keys: Map<string, number>;
}

interface RecentError {
  at: number;
  error: string;
  path: string;
  user: string | null;
}

export class LiveStats {
  private readonly seconds: (Second | undefined)[] = new Array(WINDOW_SECONDS);
  private readonly errors: RecentError[] = [];

  add(record: AccessRecord, now = Date.now()): void {
    const bucket = this.bucketFor(Math.floor(now / 1000));
    const tokens = record.usage?.total_tokens ?? 0;
    bucket.requests++;
    bucket.tokens += tokens;
    if ((record.status ?? 500) >= 500 || record.error !== null) bucket.failed++;
    bucket.latency[latencyBucket(record.durationMs)]!++;
    if (record.user) {
      const user = bucket.users.get(record.user) ?? { requests: 0, tokens: 0 };
      user.requests++;
      user.tokens += tokens;
      bucket.users.set(record.user, user);
    }
    if (record.key && record.upstream && tokens > 0) {
      const name = poolKeyName(record.upstream, record.key);
      bucket.keys.set(name, (bucket.keys.get(name) ?? 0) + tokens);
    }
    if (record.error !== null) {
      this.errors.push({ at: now, error: record.error, path: record.path, user: record.user });
      if (this.errors.length > RECENT_ERRORS) this.errors.shift();
    }
  }

  totals(now = Date.now()): LiveTotals {
    const current = Math.floor(now / 1000);
    const recent = this.seconds.filter(
      (bucket): bucket is Second => bucket !== undefined && current - bucket.second < WINDOW_SECONDS,
    );
    let requests = 0;
    let failed = 0;
    let tokens = 0;
    const latency = new Uint32Array(LATENCY_BUCKETS);
    const users = new Map<string, { user: string; requests: number; tokens: number }>();
    const byKey: Record<string, number> = {};
    for (const bucket of recent) {
      for (const [name, keyTokens] of bucket.keys) byKey[name] = (byKey[name] ?? 0) + keyTokens;
      requests += bucket.requests;
      failed += bucket.failed;
      tokens += bucket.tokens;
      for (let i = 0; i < LATENCY_BUCKETS; i++) latency[i]! += bucket.latency[i]!;
      for (const [user, counts] of bucket.users) {
        const entry = users.get(user) ?? { user, requests: 0, tokens: 0 };
        entry.requests += counts.requests;
        entry.tokens += counts.tokens;
        users.set(user, entry);
      }
    }
    const from = now - WINDOW_SECONDS * 1000;
    return {
      requestsPerSecond: Math.round((requests / WINDOW_SECONDS) * 100) / 100,
      errorRate: requests === 0 ? 0 : Math.round((failed / requests) * 1000) / 1000,
      p50Ms: percentile(latency, requests, 0.5),
      p99Ms: percentile(latency, requests, 0.99),
      tokensPerMinute: tokens,
      tokensPerMinuteByKey: byKey,
      users: [...users.values()].sort((a, b) => b.requests - a.requests).slice(0, 10),
      recentErrors: this.errors
        .filter((error) => error.at >= from)
        .reverse()
        .map((error) => ({
          at: new Date(error.at).toISOString(),
          error: error.error,
          path: error.path,
          user: error.user,
        })),
    };
  }

  /** The bucket of `second`, reused from a minute ago when its slot comes round again. */
  private bucketFor(second: number): Second {
    const slot = second % WINDOW_SECONDS;
    let bucket = this.seconds[slot];
    if (!bucket || bucket.second !== second) {
      bucket = {
        second,
        requests: 0,
        failed: 0,
        tokens: 0,
        latency: bucket?.latency.fill(0) ?? new Uint32Array(LATENCY_BUCKETS),
        users: new Map(),
        keys: new Map(),
      };
      this.seconds[slot] = bucket;
    }
    return bucket;
  }
}

function latencyBucket(ms: number): number {
  if (ms <= LATENCY_BASE_MS) return 0;
  return Math.min(LATENCY_BUCKETS - 1, Math.ceil(Math.log(ms / LATENCY_BASE_MS) / Math.log(GROWTH)));
}

/** The upper bound of the bucket holding the p-th share of requests (within 3 %). */
function percentile(latency: Uint32Array, total: number, p: number): number {
  if (total === 0) return 0;
  const rank = Math.min(total, Math.floor(p * total) + 1);
  let seen = 0;
  for (let i = 0; i < LATENCY_BUCKETS; i++) {
    seen += latency[i]!;
    if (seen >= rank) return Math.round(LATENCY_BASE_MS * GROWTH ** i * 10) / 10;
  }
  return 0;
}
