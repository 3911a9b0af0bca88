import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import OpenAI from 'openai';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import os from 'node:os';
import path from 'node:path';
import Keyv from 'keyv';
import KeyvRedis from '@keyv/redis';
import { useMockUpstream } from '../helpers/mock.js';
import { keyViews, useHub, type RunningHub } from '../helpers/hub.js';
import { request } from '../helpers/http.js';
import { readJsonLines } from '../helpers/logs.js';
import { runCli } from '../helpers/cli.js';
import type { ChatRecord } from '../../src/logs/chat-record.js';
import { openStore, type Store } from '../../src/store/open-store.js';
import { ResponseCache } from '../../src/cache/response-cache.js';
import { keyvSpace } from '../../src/store/key-value.js';
import { canonicalJson, cacheKey } from '../../src/cache/cache-key.js';
import type { HubConfigInput } from '../../src/config/schema.js';
import { TestClock } from '../helpers/clock.js';

describe('response cache', () => {
  const mock = useMockUpstream();
  const hubs = useHub();
  let running: RunningHub | undefined;
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'aifd-cache-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  async function hub(extra: Partial<HubConfigInput> = {}, store?: Store) {
    running = await hubs.start(
      {
        upstreams: [{ name: 'openai', baseUrl: mock.url, keys: ['sk-cache-pool-key-0000000000000'] }],
        auth: {
          forwardKeys: [
            { key: 'ann-cache-key-000000', user: 'ann', roles: [] },
            { key: 'bob-cache-key-000000', user: 'bob', roles: [] },
          ],
        },
        ...extra,
      },
      store ? { store } : {},
    );
    return running;
  }
  const sdk = (hubUrl: string, key = 'ann-cache-key-000000') =>
    new OpenAI({ apiKey: key, baseURL: `${hubUrl}/v1`, maxRetries: 0 });
  const ask = { model: 'gpt-4o-mini', messages: [{ role: 'user' as const, content: 'cache me' }] };

  it('logs a hit in the chat log with the reply it replayed, JSON and streamed alike, and logs convert exports it', async () => {
    const running = await hub({ cache: { chatCompletions: true }, logs: { chat: true } });
    const filled = await sdk(running.url).chat.completions.create(ask);
    const reply = filled.choices[0]!.message.content;
    expect(reply).toBeTruthy();
    await sdk(running.url).chat.completions.create(ask);
    const stream = await sdk(running.url).chat.completions.create({ ...ask, stream: true });
    for await (const _ of stream) void _;
    expect(mock.received).toHaveLength(1);
    await running.close();
    const records = await readJsonLines<ChatRecord>(running.config.logs.dir, 'chat-');
    expect(records).toHaveLength(3);
    expect(records[0]).toMatchObject({ assistant: reply, finish_reason: 'stop', aborted: false, cache: null });
    for (const hit of records.slice(1))
      expect(hit).toMatchObject({
        assistant: reply,
        finish_reason: 'stop',
        aborted: false,
        cache: 'hit',
        model: filled.model,
      });
    const converted = path.join(dir, `converted-${randomBytes(3).toString('hex')}.json`);
    const result = await runCli(['logs', 'convert', '--input', running.config.logs.dir, '--output', converted]);
    expect(result.code).toBe(0);
    const exchanges = JSON.parse(await readFile(converted, 'utf8')) as { assistant: string }[];
    expect(exchanges.map((exchange) => exchange.assistant)).toEqual([reply, reply, reply]);
  });

  it('misses, then hits without calling the upstream; the body field never goes upstream', async () => {
    const { url } = await hub();
    const first = await sdk(url)
      .chat.completions.create({ ...ask, caching: true } as never)
      .withResponse();
    expect(first.response.headers.get('x-aifd-cache')).toBe('miss');
    expect(JSON.parse(mock.received[0]!.body.toString())).not.toHaveProperty('caching');
    const second = await sdk(url)
      .chat.completions.create({ ...ask, caching: true } as never)
      .withResponse();
    expect(second.response.headers.get('x-aifd-cache')).toBe('hit');
    expect(second.data.choices[0]!.message.content).toBe(first.data.choices[0]!.message.content);
    expect(mock.received).toHaveLength(1);
    // the header opts in too; off and no-cache bypass
    const byHeader = await request(`${url}/v1/chat/completions`, {
      method: 'POST',
      headers: {
        authorization: 'Bearer ann-cache-key-000000',
        'content-type': 'application/json',
        'x-aifd-cache': 'on',
      },
      body: JSON.stringify(ask),
    });
    expect(byHeader.headers['x-aifd-cache']).toBe('hit');
    const bypass = await request(`${url}/v1/chat/completions`, {
      method: 'POST',
      headers: {
        authorization: 'Bearer ann-cache-key-000000',
        'content-type': 'application/json',
        'cache-control': 'no-cache',
      },
      body: JSON.stringify({ ...ask, caching: true }),
    });
    expect(bypass.headers['x-aifd-cache']).toBe('bypass');
    expect(mock.received).toHaveLength(2);
  });

  it('fills from a stream and serves JSON, and the reverse, with the same final text', async () => {
    const { url } = await hub({ cache: { chatCompletions: true } });
    const stream = await sdk(url).chat.completions.create({ ...ask, stream: true });
    let streamed = '';
    for await (const chunk of stream) streamed += chunk.choices[0]?.delta.content ?? '';
    const json = await sdk(url).chat.completions.create(ask).withResponse();
    expect(json.response.headers.get('x-aifd-cache')).toBe('hit');
    expect(json.data.choices[0]!.message.content).toBe(streamed);
    expect(json.data.usage?.completion_tokens).toBe(5);

    const other = { model: 'gpt-4o-mini', messages: [{ role: 'user' as const, content: 'the reverse' }] };
    const filled = await sdk(url).chat.completions.create(other);
    const replay = await sdk(url)
      .chat.completions.create({ ...other, stream: true, stream_options: { include_usage: true } })
      .withResponse();
    expect(replay.response.headers.get('x-aifd-cache')).toBe('hit');
    let replayed = '';
    let usage: OpenAI.CompletionUsage | null | undefined;
    for await (const chunk of replay.data) {
      replayed += chunk.choices[0]?.delta.content ?? '';
      usage = chunk.usage ?? usage;
    }
    expect(replayed).toBe(filled.choices[0]!.message.content);
    expect(usage?.total_tokens).toBe(filled.usage?.total_tokens);
    expect(mock.received).toHaveLength(2);
  });

  it('replays tool calls from a streamed fill', async () => {
    const { url } = await hub({ cache: { chatCompletions: true } });
    const tools = [{ type: 'function' as const, function: { name: 'GetWeatherArgs', parameters: {} } }];
    const first = await sdk(url).chat.completions.create({ ...ask, tools, stream: true });
    for await (const _ of first) void _;
    const cached = await sdk(url).chat.completions.create({ ...ask, tools });
    expect(cached.choices[0]!.finish_reason).toBe('tool_calls');
    expect(
      cached.choices[0]!.message.tool_calls?.map((call) => (call as { function: { name: string } }).function.name),
    ).toEqual(['GetWeatherArgs', 'get_stock_price']);
  });

  it('stores no error, abort or dropped stream', async () => {
    const keys = [
      'sk-cache-a-000000000000',
      'sk-cache-b-000000000000',
      'sk-cache-c-000000000000',
      'sk-cache-d-000000000000',
    ];
    const { url } = await hub({
      cache: { chatCompletions: true },
      upstreams: [{ name: 'openai', baseUrl: mock.url, keys, retries: 0 }],
    });
    mock.script('*', { type: 'error', error: 'server_error' });
    await sdk(url)
      .chat.completions.create(ask)
      .catch(() => undefined);
    mock.script('*', { type: 'drop-mid-stream', afterChunks: 2 });
    const dropped = await sdk(url).chat.completions.create({ ...ask, stream: true });
    await (async () => {
      for await (const _ of dropped) void _;
    })().catch(() => undefined);
    mock.script('*', { type: 'stream', chunks: 30, delayMs: 20 });
    const controller = new AbortController();
    const aborted = await sdk(url).chat.completions.create({ ...ask, stream: true }, { signal: controller.signal });
    for await (const chunk of aborted) if (chunk.choices[0]?.delta.content) controller.abort();
    await mock.waitForAbort(mock.received.at(-1)!);
    const before = mock.received.length;
    const fresh = await sdk(url).chat.completions.create(ask).withResponse();
    expect(fresh.response.headers.get('x-aifd-cache')).toBe('miss');
    expect(mock.received.length).toBe(before + 1);
    expect((await running!.hub.cache!.stats()).entries).toBe(1);
  });

  it('sends 10 identical concurrent requests upstream once, each getting its own copy', async () => {
    const { url } = await hub({ cache: { chatCompletions: true } });
    mock.script('*', { type: 'stream', chunks: 5, delayMs: 30 });
    const answers = await Promise.all(Array.from({ length: 10 }, () => sdk(url).chat.completions.create(ask)));
    expect(mock.received).toHaveLength(1);
    expect(new Set(answers.map((a) => a.choices[0]!.message.content)).size).toBe(1);
    answers[0]!.choices[0]!.message.content = 'mutated';
    expect(answers[1]!.choices[0]!.message.content).not.toBe('mutated');
  });

  it('keeps users apart with scope user, and shares with scope global', async () => {
    const { url } = await hub({ cache: { chatCompletions: true, scope: 'user' } });
    await sdk(url).chat.completions.create(ask);
    await sdk(url, 'bob-cache-key-000000').chat.completions.create(ask);
    expect(mock.received).toHaveLength(2);
    await running!.close();
    mock.reset();
    const shared = await hub({ cache: { chatCompletions: true, scope: 'global' } });
    await sdk(shared.url).chat.completions.create(ask);
    await sdk(shared.url, 'bob-cache-key-000000').chat.completions.create(ask);
    expect(mock.received).toHaveLength(1);
  });

  it('records hits in the access log with the usage they saved, and never touches a key', async () => {
    const { url } = await hub({ cache: { chatCompletions: true } });
    await sdk(url).chat.completions.create(ask);
    await sdk(url).chat.completions.create(ask);
    expect(keyViews(running!)[0]!.requests).toBe(1);
  });

  it('keeps entries across a restart on SQLite', async () => {
    const file = path.join(dir, 'restart.sqlite');
    for (let round = 0; round < 2; round++) {
      const store = await openStore(`sqlite://${file}`);
      const { url } = await hub({ cache: { chatCompletions: true } }, store);
      const answer = await sdk(url).chat.completions.create(ask).withResponse();
      expect(answer.response.headers.get('x-aifd-cache')).toBe(round === 0 ? 'miss' : 'hit');
      await running!.close();
      running = undefined;
      await store.close();
    }
    expect(mock.received).toHaveLength(1);
  });
});

describe('cache entries', () => {
  it('expire after the TTL on the injected clock', async () => {
    const clock = new TestClock();
    const cache = new ResponseCache(keyvSpace(new Keyv()), clock, { ttlMs: 60_000, maxEntryBytes: 1024 });
    await cache.put('k', { id: 'x' }, undefined);
    clock.t += 59_000;
    expect(await cache.get('k')).toBeDefined();
    clock.t += 2_000;
    expect(await cache.get('k')).toBeUndefined();
    expect(await cache.put('big', { blob: 'x'.repeat(2048) }, undefined)).toBeUndefined();
  });

  it('work on the real Redis', async () => {
    const namespace = `aifd-test-cache-${randomBytes(4).toString('hex')}`;
    const kv = new Keyv({ store: new KeyvRedis('redis://127.0.0.1:6379'), namespace });
    const cache = new ResponseCache(keyvSpace(kv), new TestClock(), { ttlMs: 60_000, maxEntryBytes: 1_000_000 });
    await cache.put('k', { id: 'redis' }, { prompt_tokens: 1, completion_tokens: 2, total_tokens: 3 });
    expect((await cache.get('k'))?.body).toEqual({ id: 'redis' });
    await cache.clear();
    expect(await cache.get('k')).toBeUndefined();
    await kv.disconnect();
  });

  it('keys ignore key order and fields that do not change the answer', () => {
    expect(canonicalJson({ b: 1, a: { d: [2, { z: 1, y: 2 }], c: null } })).toBe(
      '{"a":{"c":null,"d":[2,{"y":2,"z":1}]},"b":1}',
    );
    const base = cacheKey(
      'openai',
      '/v1/chat/completions',
      { model: 'm', messages: [{ role: 'user', content: 'x' }] },
      undefined,
    );
    expect(
      cacheKey(
        'openai',
        '/v1/chat/completions',
        { messages: [{ content: 'x', role: 'user' }], model: 'm', stream: true, user: 'u', caching: true },
        undefined,
      ),
    ).toBe(base);
    expect(
      cacheKey(
        'openai',
        '/v1/chat/completions',
        { model: 'm', messages: [{ role: 'user', content: 'x' }], temperature: 0 },
        undefined,
      ),
    ).not.toBe(base);
    expect(
      cacheKey('openai', '/v1/chat/completions', { model: 'm', messages: [{ role: 'user', content: 'x' }] }, 'ann'),
    ).not.toBe(base);
  });
});
