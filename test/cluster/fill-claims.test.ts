import { describe, expect, it } from 'vitest';
import { FillClaims } from '../../src/cluster/fill-claims.js';

describe('cache claims held by the primary', () => {
  it('give a key to one worker at a time and wake the waiters when it is released', async () => {
    const claims = new FillClaims();
    expect(claims.claim('k', 1)).toBe(true);
    expect(claims.claim('k', 2)).toBe(false);
    let woken = 0;
    const waits = [claims.wait('k', 60_000), claims.wait('k', 60_000)].map((wait) => wait.then(() => woken++));
    await Promise.resolve();
    expect(woken).toBe(0);
    claims.release('k');
    await Promise.all(waits);
    expect(woken).toBe(2);
    expect(claims.claim('k', 2)).toBe(true);
  });

  it('answer a wait at once when nobody holds the key, and after the timeout when the holder never releases', async () => {
    const claims = new FillClaims();
    await claims.wait('free', 60_000);
    claims.claim('held', 1);
    const started = performance.now();
    await claims.wait('held', 20);
    expect(performance.now() - started).toBeGreaterThanOrEqual(15);
    expect(claims.size).toBe(1);
  });

  it('free what a worker held when it exits', async () => {
    const claims = new FillClaims();
    claims.claim('a', 1);
    claims.claim('b', 1);
    claims.claim('c', 2);
    const waiting = claims.wait('a', 60_000);
    claims.releaseAll(1);
    await waiting;
    expect(claims.size).toBe(1);
    expect(claims.claim('a', 3)).toBe(true);
    expect(claims.claim('c', 3)).toBe(false);
  });
});
