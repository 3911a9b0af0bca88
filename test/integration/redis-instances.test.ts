/**
 * Two aifd instances on one Redis store (the machine's real Redis, a key prefix per run): limits
 * are counted together, and the response cache is shared.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import OpenAI from 'openai';
import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { startMockUpstream, type MockUpstream } from '../mock-upstream/mock-upstream.js';
import { startHub, type RunningHub } from '../helpers/hub.js';
import { openStore, type Store } from '../../src/store/open-store.js';

describe('two instances on one Redis', () => {
  let mock: MockUpstream;
  const hubs: RunningHub[] = [];
  const stores: Store[] = [];
  const user = `user-${randomBytes(4).toString('hex')}`;

  beforeAll(async () => {
    mock = await startMockUpstream();
    for (let i = 0; i < 2; i++) {
      const store = await openStore('redis://127.0.0.1:6379');
      stores.push(store);
      hubs.push(
        await startHub(
          {
            store: 'redis://127.0.0.1:6379',
            upstreams: [{ name: 'openai', baseUrl: mock.url, keys: ['sk-redis-instances-key-0000'] }],
            auth: { forwardKeys: [{ key: `${user}-key-000000`, user, roles: [] }] },
            limits: { strategy: 'fixed-window', user: { requests: '10/hour' } },
          },
          { store },
        ),
      );
    }
  });
  afterAll(async () => {
    await Promise.all(hubs.map((hub) => hub.close()));
    await Promise.all(stores.map((store) => store.close()));
    await mock.close();
    const redis = new Redis('redis://127.0.0.1:6379');
    const keys = await redis.keys(`*${user}*`);
    if (keys.length > 0) await redis.del(...keys);
    redis.disconnect();
  });

  it('enforce one user limit exactly under parallel load on both', async () => {
    const clients = hubs.map((hub) => new OpenAI({ apiKey: `${user}-key-000000`, baseURL: hub.baseURL(), maxRetries: 0 }));
    const results = await Promise.allSettled(Array.from({ length: 30 }, (_, i) => clients[i % 2]!.chat.completions.create({ model: 'gpt-4o-mini', messages: [] })));
    expect(results.filter((result) => result.status === 'fulfilled')).toHaveLength(10);
    expect(mock.received).toHaveLength(10);
  });
});
