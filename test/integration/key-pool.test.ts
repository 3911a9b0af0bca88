import { describe, expect, it } from 'vitest';
import { useMockUpstream } from '../helpers/mock.js';
import OpenAI from 'openai';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { keyViews, useHub, type RunningHub } from '../helpers/hub.js';
import { keyHash } from '../../src/util/hash.js';
import { request } from '../helpers/http.js';
import { openStore } from '../../src/store/open-store.js';
import { createHub } from '../../src/proxy/hub.js';
import { validate } from '../../src/config/load.js';
import { silentDiagnostics } from '../../src/logs/diagnostics.js';

const KEY_A = 'sk-pool-a-1111111111111111111111111111';
const KEY_B = 'sk-pool-b-2222222222222222222222222222';

describe('key pool over real sockets', () => {
  const mock = useMockUpstream();
  const hubs = useHub();
  let running: RunningHub;

  async function hubWith(keys: unknown[], extra: Record<string, unknown> = {}) {
    running = await hubs.start({
      upstreams: [
        {
          name: 'openai',
          baseUrl: mock.url,
          keys: keys as string[],
          retries: 2,
          queue: { maxWait: '3s', maxLength: 100 },
          ...extra,
        },
      ],
      auth: { anonymous: true },
    });
    return new OpenAI({ apiKey: 'client', baseURL: running.baseURL(), maxRetries: 0 });
  }

  const countKeys = () => {
    const counts: Record<string, number> = {};
    for (const r of mock.received) counts[r.key ?? 'none'] = (counts[r.key ?? 'none'] ?? 0) + 1;
    return counts;
  };

  it('splits 20 concurrent slow requests over 2 equal keys 10/10', async () => {
    const client = await hubWith([KEY_A, KEY_B]);
    mock.options.chunkDelayMs = 20;
    await Promise.all(
      Array.from({ length: 20 }, async () => {
        const stream = await client.chat.completions.create({ model: 'gpt-4o-mini', messages: [], stream: true });
        for await (const _ of stream) void _;
      }),
    );
    const counts = countKeys();
    expect(Math.abs(counts[KEY_A]! - counts[KEY_B]!)).toBeLessThanOrEqual(2);
    expect(counts[KEY_A]! + counts[KEY_B]!).toBe(20);
    expect(keyViews(running).every((view) => view.inFlight === 0)).toBe(true);
  });

  it('follows weights 1:3 under concurrency', async () => {
    const client = await hubWith([
      { key: KEY_A, weight: 1 },
      { key: KEY_B, weight: 3 },
    ]);
    mock.options.chunkDelayMs = 20;
    await Promise.all(
      Array.from({ length: 40 }, async () => {
        const stream = await client.chat.completions.create({ model: 'gpt-4o-mini', messages: [], stream: true });
        for await (const _ of stream) void _;
      }),
    );
    const counts = countKeys();
    expect(counts[KEY_B]! / counts[KEY_A]!).toBeGreaterThan(2);
    expect(counts[KEY_B]! / counts[KEY_A]!).toBeLessThan(4.5);
  });

  it('drops a 401 key and still answers the client from another key; the 401 body never reaches the client', async () => {
    const client = await hubWith([KEY_A, KEY_B]);
    mock.options.validKeys = new Set([KEY_B]);
    for (let i = 0; i < 4; i++) {
      const answer = await client.chat.completions.create({ model: 'gpt-4o-mini', messages: [] });
      expect(answer.object).toBe('chat.completion');
    }
    expect(countKeys()[KEY_A]).toBe(1);
    expect(keyViews(running)[0]).toMatchObject({ status: 'revoked' });
    const pool = running.hub.upstreams[0]!.pool;
    // with every key revoked the client gets aifd's error, not the upstream's 401 body
    mock.options.validKeys = new Set();
    pool.setChecked(pool.keys[0]!.hash, 'ok', undefined);
    const res = await request(`${running.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{"model":"gpt-4o-mini"}',
    });
    expect(res.status).toBe(429);
    expect(res.json().error.code).toBe('no_key_available');
    expect(res.text).not.toContain('Incorrect API key');
  });

  it('drops an insufficient_quota key and retries on another', async () => {
    const client = await hubWith([KEY_A, KEY_B]);
    mock.always(KEY_A, { type: 'error', error: 'insufficient_quota' });
    for (let i = 0; i < 3; i++) await client.embeddings.create({ model: 'text-embedding-3-small', input: 'x' });
    expect(countKeys()[KEY_A]).toBe(1);
    expect(keyViews(running)[0]!.status).toBe('over_quota');
  });

  it('skips a key whose headers say 0 remaining until its reset', async () => {
    const client = await hubWith([KEY_A, KEY_B]);
    mock.setRateLimit(KEY_A, { remainingRequests: 0, resetRequests: '1m0s' });
    mock.setRateLimit(KEY_B, { remainingRequests: 0, resetRequests: '1m0s' });
    await client.chat.completions.create({ model: 'gpt-4o-mini', messages: [] });
    await client.chat.completions.create({ model: 'gpt-4o-mini', messages: [] });
    expect(countKeys()).toEqual({ [KEY_A]: 1, [KEY_B]: 1 });
    const error = (await client.chat.completions
      .create({ model: 'gpt-4o-mini', messages: [] })
      .catch((err: unknown) => err)) as InstanceType<typeof OpenAI.APIError>;
    expect(error.status).toBe(429);
    expect(error.code).toBe('no_key_available');
    expect(Number(error.headers?.get('retry-after'))).toBeGreaterThanOrEqual(59);
    expect(mock.received.length).toBe(2);
  });

  it('retries a 503 transparently', async () => {
    const client = await hubWith([KEY_A, KEY_B]);
    mock.script(KEY_A, {
      type: 'status',
      status: 503,
      body: '{"error":{"message":"overloaded","type":"server_error","param":null,"code":null}}',
    });
    const answer = await client.chat.completions.create({ model: 'gpt-4o-mini', messages: [] });
    expect(answer.object).toBe('chat.completion');
    expect(mock.received.map((r) => r.key)).toEqual([KEY_A, KEY_B]);
  });

  it('never retries a stream that failed after its first chunk; the client sees a clean error', async () => {
    const client = await hubWith([KEY_A, KEY_B]);
    mock.script('*', { type: 'stream-error', afterChunks: 2, error: 'server_error' });
    const stream = await client.chat.completions.create({ model: 'gpt-4o-mini', messages: [], stream: true });
    let text = '';
    const error = await (async () => {
      for await (const chunk of stream) text += chunk.choices[0]?.delta.content ?? '';
    })().catch((err: unknown) => err);
    expect(text).toBe('Hello');
    expect(error).toBeInstanceOf(OpenAI.APIError);
    expect(mock.received.length).toBe(1);
    const used = keyViews(running).find((view) => view.hash === keyHash(mock.received[0]!.key!))!;
    expect(used).toMatchObject({ status: 'cooling', lastError: 'stream error server_error' });
  });

  it('queues when every key is limited and succeeds when one resets', async () => {
    const client = await hubWith([KEY_A, KEY_B]);
    mock.script(KEY_A, { type: 'error', error: 'rate_limit_requests', headers: { 'retry-after-ms': '600' } });
    mock.script(KEY_B, { type: 'error', error: 'rate_limit_requests', headers: { 'retry-after-ms': '800' } });
    const started = performance.now();
    const answer = await client.chat.completions.create({ model: 'gpt-4o-mini', messages: [] });
    expect(answer.object).toBe('chat.completion');
    expect(performance.now() - started).toBeGreaterThanOrEqual(550);
    expect(mock.received.map((r) => r.key)).toEqual(expect.arrayContaining([KEY_A, KEY_B]));
    expect(mock.received.length).toBe(3);
  });

  it('answers 429 with Retry-After when the wait would run out', async () => {
    const client = await hubWith([KEY_A, KEY_B], { retries: 1 });
    mock.always('*', { type: 'error', error: 'rate_limit_tokens', headers: { 'retry-after': '20' } });
    const first = (await client.chat.completions
      .create({ model: 'gpt-4o-mini', messages: [] })
      .catch((err: unknown) => err)) as InstanceType<typeof OpenAI.APIError>;
    // both keys tried: the client gets OpenAI's own 429
    expect(first.status).toBe(429);
    expect(first.code).toBe('rate_limit_exceeded');
    const second = (await client.chat.completions
      .create({ model: 'gpt-4o-mini', messages: [] })
      .catch((err: unknown) => err)) as InstanceType<typeof OpenAI.APIError>;
    expect(second.status).toBe(429);
    expect(second.code).toBe('no_key_available');
    expect(Number(second.headers?.get('retry-after'))).toBeGreaterThanOrEqual(19);
    expect(mock.received.length).toBe(2);
  });

  it('lets a queued client that disconnects leave the queue', async () => {
    await hubWith([KEY_A], { retries: 0 });
    mock.script(KEY_A, { type: 'error', error: 'rate_limit_requests', headers: { 'retry-after': '2' } });
    await request(`${running.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{"model":"gpt-4o-mini"}',
    });
    const queue = running.hub.upstreams[0]!.queue;
    const controller = new AbortController();
    const client = new OpenAI({ apiKey: 'client', baseURL: running.baseURL(), maxRetries: 0 });
    const pending = client.chat.completions
      .create({ model: 'gpt-4o-mini', messages: [] }, { signal: controller.signal })
      .catch((err: unknown) => err);
    const queueLength = (n: number) =>
      new Promise<void>((resolve) =>
        queue.length === n ? resolve() : queue.on('length', (now: number) => now === n && resolve()),
      );
    await queueLength(1);
    controller.abort();
    await pending;
    await queueLength(0);
    expect(queue.length).toBe(0);
    expect(mock.received.length).toBe(1);
  });

  it('rechecks keys on a schedule and brings a repaired key back', async () => {
    const client = await hubWith([KEY_A, KEY_B], { checkEvery: '100ms' });
    mock.options.validKeys = new Set([KEY_B]);
    await client.chat.completions.create({ model: 'gpt-4o-mini', messages: [] });
    const pool = running.hub.upstreams[0]!.pool;
    const keyA = pool.keys[0]!;
    expect(pool.state(keyA.hash).status).toBe('revoked');
    mock.options.validKeys = undefined;
    await new Promise<void>((resolve) =>
      pool.on(
        'status',
        (key: { hash: string }, state: { status: string }) =>
          key.hash === keyA.hash && state.status === 'ok' && resolve(),
      ),
    );
    expect(mock.received.some((r) => r.url === '/v1/models' && r.key === KEY_A)).toBe(true);
  });

  it('remembers a revoked key across a restart', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'aifd-keystate-'));
    try {
      const config = validate(
        {
          listen: { port: 0 },
          store: `sqlite://${dir}/state.sqlite`,
          logs: { dir },
          upstreams: [{ name: 'openai', baseUrl: mock.url, keys: [KEY_A, KEY_B] }],
          auth: { anonymous: true },
        },
        'test',
      );
      mock.options.validKeys = new Set([KEY_B]);
      for (let round = 0; round < 2; round++) {
        const store = await openStore(config.store);
        const hub = createHub(config, { log: silentDiagnostics, store });
        const address = await hub.listen();
        const client = new OpenAI({ apiKey: 'client', baseURL: `http://127.0.0.1:${address.port}/v1`, maxRetries: 0 });
        for (let i = 0; i < 3; i++) await client.chat.completions.create({ model: 'gpt-4o-mini', messages: [] });
        await hub.close(100);
        await store.close();
      }
      expect(mock.received.filter((r) => r.key === KEY_A).length).toBe(1);
      expect(mock.received.filter((r) => r.key === KEY_B).length).toBe(6);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
