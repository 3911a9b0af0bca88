import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { KeyPool, type Lease } from '../../src/keys/pool.js';
import { KeyQueue } from '../../src/keys/queue.js';
import { AifdError } from '../../src/errors.js';
import { systemClock } from '../../src/util/clock.js';

const NONE = new Set<string>();

beforeEach(() => {
  vi.useFakeTimers({ now: 1_700_000_000_000 });
});
afterEach(() => {
  vi.useRealTimers();
});

function limitedPool(retryAfterMs: number) {
  const pool = new KeyPool(['a', 'b'], systemClock);
  for (let i = 0; i < 2; i++) pool.release(pool.acquire(undefined, NONE)!, { verdict: 'rate_limited', retryAfterMs });
  return pool;
}

describe('KeyQueue', () => {
  it('hands out a key at once when one is usable', async () => {
    const queue = new KeyQueue(new KeyPool(['a'], systemClock), systemClock, { maxWaitMs: 1000, maxLength: 10 });
    await expect(queue.acquire({ model: undefined, exclude: NONE, user: 'u' })).resolves.toMatchObject({
      key: { secret: 'a' },
    });
  });

  it('waits while every key is limited and goes out when one resets, woken by the reset time', async () => {
    const queue = new KeyQueue(limitedPool(3000), systemClock, { maxWaitMs: 5000, maxLength: 10 });
    let lease: Lease | undefined;
    void queue.acquire({ model: undefined, exclude: NONE, user: 'u' }).then((got) => (lease = got));
    expect(queue.length).toBe(1);
    await vi.advanceTimersByTimeAsync(2900);
    expect(lease).toBeUndefined();
    await vi.advanceTimersByTimeAsync(200);
    expect(lease).toBeDefined();
    expect(queue.length).toBe(0);
  });

  it('answers 429 at once when the wait cannot end in time, with Retry-After the soonest reset', async () => {
    const queue = new KeyQueue(limitedPool(30_000), systemClock, { maxWaitMs: 5000, maxLength: 10 });
    const error = await queue.acquire({ model: undefined, exclude: NONE, user: 'u' }).catch((err: AifdError) => err);
    expect(error).toBeInstanceOf(AifdError);
    expect((error as AifdError).code).toBe('no_key_available');
    expect((error as AifdError).retryAfterSec).toBe(30);
    expect(queue.length).toBe(0);
  });

  it('answers 429 when the wait runs out', async () => {
    const pool = limitedPool(3000);
    const queue = new KeyQueue(pool, systemClock, { maxWaitMs: 5000, maxLength: 10 });
    // a probe keeps the key busy past the wait: it is usable "soon" but never free
    const outcome = queue.acquire({ model: undefined, exclude: NONE, user: 'u' });
    await vi.advanceTimersByTimeAsync(3001);
    const lease = await outcome;
    pool.release(lease, { verdict: 'server_error' });
    pool.release(pool.acquire(undefined, NONE)!, { verdict: 'server_error' });
    await vi.advanceTimersByTimeAsync(1000);
    const probes = [pool.acquire(undefined, NONE)!, pool.acquire(undefined, NONE)!];
    expect(probes.every((p) => p.probe)).toBe(true);
    const waiting = queue.acquire({ model: undefined, exclude: NONE, user: 'u' }).catch((err: AifdError) => err);
    await vi.advanceTimersByTimeAsync(5001);
    const error = await waiting;
    expect(error).toBeInstanceOf(AifdError);
    expect((error as AifdError).code).toBe('no_key_available');
    expect(queue.length).toBe(0);
  });

  it('lets a client that goes away leave the queue', async () => {
    const queue = new KeyQueue(limitedPool(3000), systemClock, { maxWaitMs: 5000, maxLength: 10 });
    const controller = new AbortController();
    const waiting = queue
      .acquire({ model: undefined, exclude: NONE, user: 'u', signal: controller.signal })
      .catch((err: AifdError) => err);
    expect(queue.length).toBe(1);
    controller.abort();
    expect(await waiting).toBeInstanceOf(AifdError);
    expect(queue.length).toBe(0);
  });

  it('serves users round robin: one burst does not starve another user', async () => {
    const pool = new KeyPool(['only'], systemClock);
    const queue = new KeyQueue(pool, systemClock, { maxWaitMs: 60_000, maxLength: 100 });
    const holder = pool.acquire(undefined, NONE)!;
    pool.release(holder, { verdict: 'rate_limited', retryAfterMs: 1000 });
    const order: string[] = [];
    const all: Promise<unknown>[] = [];
    for (let i = 0; i < 5; i++)
      all.push(queue.acquire({ model: undefined, exclude: NONE, user: 'burst' }).then(() => order.push('burst')));
    all.push(queue.acquire({ model: undefined, exclude: NONE, user: 'calm' }).then(() => order.push('calm')));
    await vi.advanceTimersByTimeAsync(1001);
    await Promise.all(all);
    expect(order).toHaveLength(6);
    expect(order.indexOf('calm')).toBeLessThanOrEqual(1);
  });

  it('refuses past its maximum length', async () => {
    const queue = new KeyQueue(limitedPool(3000), systemClock, { maxWaitMs: 5000, maxLength: 1 });
    void queue.acquire({ model: undefined, exclude: NONE, user: 'u' }).catch(() => undefined);
    const error = await queue.acquire({ model: undefined, exclude: NONE, user: 'v' }).catch((err: AifdError) => err);
    expect((error as AifdError).code).toBe('no_key_available');
    queue.close();
  });
});
