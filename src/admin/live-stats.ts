/**
 * Totals over the last minute, for `GET /events` and `aifd top`: requests per second, error rate,
 * latency percentiles, tokens per minute, and the busiest users. Kept as a bounded ring of recent
 * records, read only when a snapshot is asked for.
 */
import type { AccessRecord } from '../logs/access-record.js';

interface Sample {
  at: number;
  durationMs: number;
  failed: boolean;
  tokens: number;
  user: string | null;
  error: string | null;
  path: string;
}

export interface LiveTotals {
  requestsPerSecond: number;
  errorRate: number;
  p50Ms: number;
  p99Ms: number;
  tokensPerMinute: number;
  users: { user: string; requests: number; tokens: number; nearest?: { limit: string; share: number } | null }[];
  recentErrors: { at: string; error: string; path: string; user: string | null }[];
}

const WINDOW_MS = 60_000;
const MAX_SAMPLES = 100_000;

export class LiveStats {
  private readonly samples: Sample[] = [];

  add(record: AccessRecord, now = Date.now()): void {
    this.samples.push({
      at: now,
      durationMs: record.durationMs,
      failed: (record.status ?? 500) >= 500 || record.error !== null,
      tokens: record.usage?.total_tokens ?? 0,
      user: record.user,
      error: record.error,
      path: record.path,
    });
    if (this.samples.length > MAX_SAMPLES) this.samples.splice(0, this.samples.length - MAX_SAMPLES);
  }

  totals(now = Date.now()): LiveTotals {
    const from = now - WINDOW_MS;
    let first = 0;
    while (first < this.samples.length && this.samples[first]!.at < from) first++;
    if (first > 0) this.samples.splice(0, first);
    const recent = this.samples;
    const durations = recent.map((sample) => sample.durationMs).sort((a, b) => a - b);
    const pick = (p: number) => (durations.length === 0 ? 0 : durations[Math.min(durations.length - 1, Math.floor(p * durations.length))]!);
    const users = new Map<string, { user: string; requests: number; tokens: number }>();
    for (const sample of recent) {
      if (!sample.user) continue;
      const entry = users.get(sample.user) ?? { user: sample.user, requests: 0, tokens: 0 };
      entry.requests++;
      entry.tokens += sample.tokens;
      users.set(sample.user, entry);
    }
    return {
      requestsPerSecond: Math.round((recent.length / (WINDOW_MS / 1000)) * 100) / 100,
      errorRate: recent.length === 0 ? 0 : Math.round((recent.filter((sample) => sample.failed).length / recent.length) * 1000) / 1000,
      p50Ms: pick(0.5),
      p99Ms: pick(0.99),
      tokensPerMinute: recent.reduce((sum, sample) => sum + sample.tokens, 0),
      users: [...users.values()].sort((a, b) => b.requests - a.requests).slice(0, 10),
      recentErrors: recent
        .filter((sample) => sample.error !== null)
        .slice(-5)
        .reverse()
        .map((sample) => ({ at: new Date(sample.at).toISOString(), error: sample.error!, path: sample.path, user: sample.user })),
    };
  }
}
