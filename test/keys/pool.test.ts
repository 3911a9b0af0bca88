import { describe, expect, it } from 'vitest';
import { KeyPool, type Lease } from '../../src/keys/pool.js';
import type { PoolKeyConfig } from '../../src/config/schema.js';
import { TestClock } from '../helpers/clock.js';

const NONE = new Set<string>();

function pool(entries: PoolKeyConfig[], clock = new TestClock(1_700_000_000_000)) {
  return { pool: new KeyPool(entries, clock), clock };
}

function countBy(leases: Lease[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const lease of leases) counts[lease.key.secret] = (counts[lease.key.secret] ?? 0) + 1;
  return counts;
}

describe('KeyPool selection', () => {
  it('splits concurrent requests evenly over equal keys', () => {
    const { pool: p } = pool(['a', 'b']);
    const leases = Array.from({ length: 20 }, () => p.acquire(undefined, NONE)!);
    expect(countBy(leases)).toEqual({ a: 10, b: 10 });
    expect(p.state(leases[0]!.key.hash).inFlight).toBe(10);
  });

  it('follows weights 1:3 for concurrent and for one-at-a-time traffic', () => {
    const weighted: PoolKeyConfig[] = [
      { key: 'light', weight: 1 },
      { key: 'heavy', weight: 3 },
    ];
    const { pool: concurrent } = pool(weighted);
    const held = Array.from({ length: 40 }, () => concurrent.acquire(undefined, NONE)!);
    expect(countBy(held)).toEqual({ light: 10, heavy: 30 });

    const { pool: sequential } = pool(weighted);
    const seen: Lease[] = [];
    for (let i = 0; i < 400; i++) {
      const lease = sequential.acquire(undefined, NONE)!;
      seen.push(lease);
      sequential.release(lease, { verdict: 'ok' });
    }
    const counts = countBy(seen);
    expect(counts.heavy! / counts.light!).toBeGreaterThan(2.7);
    expect(counts.heavy! / counts.light!).toBeLessThan(3.3);
  });

  it('only uses keys whose model globs match', () => {
    const { pool: p } = pool(['any', { key: 'four-o', weight: 1, models: ['gpt-4o*'] }]);
    for (let i = 0; i < 5; i++) expect(p.acquire('gpt-3.5-turbo', NONE)!.key.secret).toBe('any');
    expect(p.acquire('gpt-4o-mini', NONE)!.key.secret).toBe('four-o');
  });

  it('skips excluded keys and says when none is left', () => {
    const { pool: p } = pool(['a', 'b']);
    const first = p.acquire(undefined, NONE)!;
    const second = p.acquire(undefined, new Set([first.key.hash]))!;
    expect(second.key.hash).not.toBe(first.key.hash);
    expect(p.acquire(undefined, new Set([first.key.hash, second.key.hash]))).toBeUndefined();
  });

  it('stays correct with 1,000 keys', () => {
    const { pool: p } = pool(Array.from({ length: 1000 }, (_, i) => `key-${i}`));
    const leases = Array.from({ length: 2000 }, () => p.acquire(undefined, NONE)!);
    expect(new Set(leases.map((lease) => lease.key.hash)).size).toBe(1000);
    expect(Object.values(countBy(leases)).every((count) => count === 2)).toBe(true);
  });
});

describe('KeyPool learning', () => {
  it('skips a key with nothing remaining until its reset', () => {
    const { pool: p, clock } = pool(['a', 'b']);
    const lease = p.acquire(undefined, NONE)!;
    p.release(lease, { verdict: 'ok', rateLimit: { remainingRequests: 0, limitRequests: 100, resetRequestsMs: 6000 } });
    for (let i = 0; i < 3; i++) {
      const next = p.acquire(undefined, NONE)!;
      expect(next.key.hash).not.toBe(lease.key.hash);
      p.release(next, { verdict: 'ok' });
    }
    expect(p.nextAvailableAt(undefined, new Set([p.keys.find((k) => k.hash !== lease.key.hash)!.hash]))).toBe(
      clock.now() + 6000,
    );
    clock.advance(6001);
    const seen = new Set<string>();
    for (let i = 0; i < 4; i++) {
      const next = p.acquire(undefined, NONE)!;
      seen.add(next.key.hash);
      p.release(next, { verdict: 'ok' });
    }
    expect(seen.has(lease.key.hash)).toBe(true);
  });

  it('gives a key whose budget runs low less traffic before it runs dry', () => {
    const { pool: p } = pool(['low', 'full']);
    const low = p.acquire(undefined, NONE)!;
    expect(low.key.secret).toBe('low');
    p.release(low, { verdict: 'ok', rateLimit: { remainingRequests: 2, limitRequests: 100, resetRequestsMs: 60_000 } });
    const held = Array.from({ length: 12 }, () => p.acquire(undefined, NONE)!);
    const counts = countBy(held);
    expect(counts.full!).toBeGreaterThan(counts.low! * 3);
  });

  it('cools a 429 key down by Retry-After, then uses it again', () => {
    const { pool: p, clock } = pool(['a']);
    const lease = p.acquire(undefined, NONE)!;
    p.release(lease, { verdict: 'rate_limited', retryAfterMs: 3000 });
    expect(p.state(lease.key.hash)).toMatchObject({ status: 'cooling', until: clock.now() + 3000 });
    expect(p.acquire(undefined, NONE)).toBeUndefined();
    clock.advance(3000);
    const again = p.acquire(undefined, NONE)!;
    expect(again.probe).toBe(false);
    p.release(again, { verdict: 'ok' });
    expect(p.state(lease.key.hash).status).toBe('ok');
  });

  it('falls back to the reset headers, then a default, when a 429 says nothing', () => {
    const { pool: p, clock } = pool(['a', 'b']);
    const first = p.acquire(undefined, NONE)!;
    p.release(first, {
      verdict: 'rate_limited',
      rateLimit: { remainingTokens: 0, limitTokens: 1000, resetTokensMs: 7000 },
    });
    expect(p.state(first.key.hash).until).toBe(clock.now() + 7000);
    const second = p.acquire(undefined, NONE)!;
    p.release(second, { verdict: 'rate_limited' });
    expect(p.state(second.key.hash).until).toBe(clock.now() + 2000);
  });

  it('drops a revoked key until a check restores it', () => {
    const { pool: p, clock } = pool(['bad', 'good']);
    const bad = p.acquire(undefined, NONE)!;
    p.release(bad, { verdict: 'revoked', error: '401 invalid_api_key' });
    expect(p.state(bad.key.hash)).toMatchObject({ status: 'revoked', lastError: '401 invalid_api_key' });
    clock.advance(24 * 3_600_000);
    for (let i = 0; i < 5; i++) expect(p.acquire(undefined, NONE)!.key.secret).toBe('good');
    expect(p.nextAvailableAt(undefined, new Set([p.keys[1]!.hash]))).toBe(Infinity);
    p.setChecked(bad.key.hash, 'ok', undefined);
    expect(p.state(bad.key.hash).status).toBe('ok');
  });

  it('rests an over-quota key, then lets one request recheck it', () => {
    const { pool: p, clock } = pool(['broke']);
    const lease = p.acquire(undefined, NONE)!;
    p.release(lease, { verdict: 'over_quota' });
    expect(p.acquire(undefined, NONE)).toBeUndefined();
    clock.advance(15 * 60_000);
    const probe = p.acquire(undefined, NONE)!;
    expect(probe.probe).toBe(true);
    expect(p.acquire(undefined, NONE)).toBeUndefined();
    p.release(probe, { verdict: 'over_quota' });
    expect(p.state(lease.key.hash).status).toBe('over_quota');
    clock.advance(15 * 60_000);
    const second = p.acquire(undefined, NONE)!;
    p.release(second, { verdict: 'ok' });
    expect(p.state(lease.key.hash).status).toBe('ok');
  });

  it('breaks the circuit on server errors: growing cooldown, then one half-open probe', () => {
    const { pool: p, clock } = pool(['flaky']);
    const hash = p.keys[0]!.hash;
    p.release(p.acquire(undefined, NONE)!, { verdict: 'server_error' });
    expect(p.state(hash).until).toBe(clock.now() + 1000);
    clock.advance(1000);
    const probe = p.acquire(undefined, NONE)!;
    expect(probe.probe).toBe(true);
    expect(p.acquire(undefined, NONE)).toBeUndefined();
    p.release(probe, { verdict: 'unreachable' });
    expect(p.state(hash)).toMatchObject({ status: 'cooling', consecutiveFailures: 2, until: clock.now() + 2000 });
    clock.advance(2000);
    const probe2 = p.acquire(undefined, NONE)!;
    p.release(probe2, { verdict: 'ok' });
    expect(p.state(hash)).toMatchObject({ status: 'ok', consecutiveFailures: 0 });
    const full = [p.acquire(undefined, NONE), p.acquire(undefined, NONE)];
    expect(full.every(Boolean)).toBe(true);
  });

  it('emits status changes and keeps counters through restore', () => {
    const { pool: p } = pool(['a']);
    const seen: string[] = [];
    p.on('status', (_key, state) => seen.push(state.status));
    p.release(p.acquire(undefined, NONE)!, { verdict: 'revoked' });
    expect(seen).toEqual(['revoked']);
    const { pool: restarted } = pool(['a']);
    restarted.restore(p.keys[0]!.hash, { ...p.state(p.keys[0]!.hash), inFlight: 7 });
    expect(restarted.state(p.keys[0]!.hash)).toMatchObject({ status: 'revoked', requests: 1, inFlight: 0 });
    expect(restarted.acquire(undefined, NONE)).toBeUndefined();
  });
});
