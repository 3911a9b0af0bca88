/**
 * Redis going away under load (a redis-server of the test's own, killed and started again):
 * requests keep flowing, limits follow `limits.onStoreDown`, the outage is reported once, and
 * everything comes back by itself.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import OpenAI from 'openai';
import { once } from 'node:events';
import { Redis } from 'ioredis';
import { useMockUpstream } from '../helpers/mock.js';
import { startAdmin, startHub, type RunningAdmin, type RunningHub } from '../helpers/hub.js';
import { startTestRedis, type TestRedis } from '../helpers/redis-server.js';
import { openStore, type Store } from '../../src/store/open-store.js';
import type { Diagnostics } from '../../src/logs/diagnostics.js';

const USER_KEY = 'fk-outage-user-000000000000';
const ADMIN_TOKEN = 'outage-admin-token-0000000000';

/** Diagnostics that keep what they were told. */
function recordingDiagnostics(): Diagnostics & { lines: { level: string; message: string }[] } {
  const lines: { level: string; message: string }[] = [];
  const keep = (level: string) => (message: string) => void lines.push({ level, message });
  return {
    lines,
    error: keep('error'),
    warn: keep('warn'),
    info: keep('info'),
    debug: keep('debug'),
    close: async () => undefined,
  };
}

describe('Redis outage', () => {
  const mock = useMockUpstream();
  let redis: TestRedis;
  let store: Store | undefined;
  let running: RunningHub | undefined;
  let admin: RunningAdmin | undefined;

  beforeAll(async () => {
    redis = await startTestRedis();
  });
  afterAll(async () => {
    await redis.stop();
  });
  afterEach(async () => {
    await admin?.close();
    await running?.close();
    await store?.close();
    admin = undefined;
    running = undefined;
    await redis.start();
  });

  async function start(onStoreDown: 'open' | 'closed', log = recordingDiagnostics()) {
    store = await openStore(redis.url, { prefix: 'outage:' });
    running = await startHub(
      {
        store: redis.url,
        storePrefix: 'outage:',
        logs: { access: false, sink: 'none' },
        upstreams: [{ name: 'openai', baseUrl: mock.url, keys: ['sk-outage-pool-key-0000000000000'] }],
        auth: { forwardKeys: [{ key: USER_KEY, user: 'ann', roles: [] }] },
        limits: { user: { requests: '1000/hour' }, onStoreDown },
      },
      { store, log },
    );
    admin = await startAdmin(running.hub, ADMIN_TOKEN);
    return {
      client: new OpenAI({ apiKey: USER_KEY, baseURL: running.baseURL(), maxRetries: 0 }),
      log,
      hub: running.hub,
    };
  }

  const chat = (client: OpenAI) => client.chat.completions.create({ model: 'gpt-4o-mini', messages: [] });
  const metric = async (name: string) => {
    const text = await (
      await fetch(`${admin!.url}/metrics`, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } })
    ).text();
    return Number(new RegExp(`^${name} (\\S+)$`, 'm').exec(text)?.[1]);
  };
  const countedInRedis = async () => {
    const client = new Redis(redis.url);
    const keys = await client.keys('outage:limits*');
    const values = await Promise.all(keys.map((key) => client.get(key)));
    client.disconnect();
    return values.reduce((sum, value) => sum + Number(value ?? 0), 0);
  };

  it('keeps every request flowing when Redis dies mid-load (open), reports it once, and recovers', async () => {
    const { client, log, hub } = await start('open');
    const down = once(hub.storeHealth!, 'down');
    let killed: Promise<void> | undefined;
    mock.on('request', () => {
      if (mock.received.length === 20) killed = redis.stop();
    });
    const results: PromiseSettledResult<unknown>[] = [];
    // 60 requests, 4 at a time; Redis is killed when the 20th reaches the upstream.
    for (let i = 0; i < 15; i++)
      results.push(...(await Promise.allSettled(Array.from({ length: 4 }, () => chat(client)))));
    await killed;
    await down;
    results.push(...(await Promise.allSettled(Array.from({ length: 20 }, () => chat(client)))));
    expect(results.filter((result) => result.status === 'rejected')).toEqual([]);
    expect(mock.received).toHaveLength(80);
    expect(await metric('aifd_store_up')).toBe(0);
    const state = (await (
      await fetch(`${admin!.url}/state`, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } })
    ).json()) as { store: { up: boolean } };
    expect(state.store.up).toBe(false);
    expect(log.lines.filter((line) => line.message.includes('cannot be reached'))).toHaveLength(1);

    const up = once(hub.storeHealth!, 'up');
    await redis.start();
    await up;
    expect(log.lines.filter((line) => line.message.includes('reachable again'))).toHaveLength(1);
    expect(await metric('aifd_store_up')).toBe(1);
    const before = await countedInRedis();
    await chat(client);
    await chat(client);
    expect((await countedInRedis()) - before).toBe(2);
  });

  it('refuses what limits would count while Redis is away (closed), and serves again when it is back', async () => {
    const { client, hub } = await start('closed');
    expect((await chat(client)).object).toBe('chat.completion');
    const down = once(hub.storeHealth!, 'down');
    await redis.stop();
    await down;
    const refused = await chat(client).catch((err: unknown) => err);
    expect(refused).toBeInstanceOf(OpenAI.InternalServerError);
    expect((refused as InstanceType<typeof OpenAI.InternalServerError>).status).toBe(503);
    expect((refused as InstanceType<typeof OpenAI.InternalServerError>).code).toBe('store_unavailable');
    expect(hub.inFlight()).toBe(0);
    const up = once(hub.storeHealth!, 'up');
    await redis.start();
    await up;
    expect((await chat(client)).object).toBe('chat.completion');
  });
});
