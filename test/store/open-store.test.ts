import { afterAll, describe, expect, it } from 'vitest';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Redis } from 'ioredis';
import { openStore } from '../../src/store/open-store.js';

const run = randomBytes(4).toString('hex');
const dirs: string[] = [];

afterAll(async () => {
  await Promise.all(dirs.map((dir) => rm(dir, { recursive: true, force: true })));
});

describe('openStore', () => {
  it('keeps concerns apart and data across reopen on SQLite', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'aifd-store-'));
    dirs.push(dir);
    const url = `sqlite://${dir}/state.sqlite`;
    const first = await openStore(url);
    await first.namespace('keys').set('k', { status: 'revoked' });
    await first.namespace('cache').set('k', 'cached');
    await first.namespace('cache').clear();
    await first.close();
    const second = await openStore(url);
    expect(await second.namespace('keys').get('k')).toEqual({ status: 'revoked' });
    expect(await second.namespace('cache').get('k')).toBeUndefined();
    await second.close();
  });

  it('shares state through the real Redis, namespaced, and iterates a namespace', async () => {
    const url = 'redis://127.0.0.1:6379';
    const one = await openStore(url);
    const two = await openStore(url);
    expect(one.kind).toBe('redis');
    await one.namespace(`test-${run}`).set('a', 1);
    await one.namespace(`test-${run}`).set('b', 2);
    await one.namespace(`other-${run}`).set('a', 'x');
    expect(await two.namespace(`test-${run}`).get('a')).toBe(1);
    const seen: string[] = [];
    for await (const [key] of two.namespace(`test-${run}`).entries()) seen.push(key);
    expect(seen.sort()).toEqual(['a', 'b']);
    await two.namespace(`test-${run}`).clear();
    expect(await one.namespace(`other-${run}`).get('a')).toBe('x');
    await one.namespace(`other-${run}`).clear();
    await one.close();
    await two.close();
    const redis = new Redis(url);
    expect(await redis.keys(`*${run}*`)).toEqual([]);
    redis.disconnect();
  });
});
