import { describe, expect, it } from 'vitest';
import { useMockUpstream } from '../helpers/mock.js';
import OpenAI from 'openai';
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { fixtureJson } from '../mock-upstream/fixtures.js';
import { useHub, type RunningHub } from '../helpers/hub.js';
import { request } from '../helpers/http.js';
import { readJsonLines } from '../helpers/logs.js';
import type { AccessRecord } from '../../src/logs/access-record.js';
import type { ChatRecord } from '../../src/logs/chat-record.js';
import { countTokens as o200kTokens } from 'gpt-tokenizer/encoding/o200k_base';

const POOL_KEY = 'sk-usage-test-key-99999999999999999999';

const linesOf = readJsonLines;

describe('usage accounting and logs', () => {
  const mock = useMockUpstream();
  const hubs = useHub();
  let running: RunningHub | undefined;

  async function hub(chat = false) {
    running = await hubs.start({
      upstreams: [{ name: 'openai', baseUrl: mock.url, keys: [POOL_KEY] }],
      auth: { forwardKeys: [{ key: 'user-key-ann-0000000000', user: 'ann', roles: [] }] },
      logs: { chat } as never,
    });
    return new OpenAI({ apiKey: 'user-key-ann-0000000000', baseURL: running.baseURL(), maxRetries: 0 });
  }

  /** Closes the hub (flushing its logs) and returns its access records. */
  async function records(): Promise<AccessRecord[]> {
    const records = await running!.closeAndReadAccessLog();
    running = undefined;
    return records;
  }

  it('records upstream usage for a JSON answer, with every field of the contract', async () => {
    const client = await hub();
    await client.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }] });
    const [record] = await records();
    const expected = fixtureJson<{ usage: { prompt_tokens: number; completion_tokens: number; total_tokens: number } }>(
      'chat-completion.json',
    ).usage;
    expect(record).toMatchObject({
      user: 'ann',
      ip: '127.0.0.1',
      method: 'POST',
      route: '/',
      path: '/v1/chat/completions',
      model: 'gpt-4o-mini-2024-07-18',
      stream: false,
      status: 200,
      upstream: 'openai',
      attempts: 1,
      usage: {
        prompt_tokens: expected.prompt_tokens,
        completion_tokens: expected.completion_tokens,
        total_tokens: expected.total_tokens,
      },
      usageSource: 'upstream',
      error: null,
    });
    expect(record!.key).toMatch(/^[0-9a-f]{12}$/);
    expect(record!.ttfbMs).toBeGreaterThan(0);
    expect(record!.durationMs).toBeGreaterThanOrEqual(record!.ttfbMs!);
    expect(Date.parse(record!.ts)).toBeGreaterThan(Date.now() - 60_000);
  });

  it('asks for stream usage itself and hands the client exactly the stream it would have had', async () => {
    await hub();
    const body = JSON.stringify({ model: 'gpt-4o-mini', stream: true, messages: [{ role: 'user', content: 'hi' }] });
    const headers = { 'content-type': 'application/json', 'x-mock-answer-id': '7' };
    const direct = await request(`${mock.url}/v1/chat/completions`, { method: 'POST', headers, body });
    const viaAifd = await request(`${running!.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { ...headers, authorization: 'Bearer user-key-ann-0000000000' },
      body,
    });
    expect(viaAifd.text).toBe(direct.text);
    expect(direct.text).not.toContain('"usage"');
    const upstreamSaw = JSON.parse(mock.received[1]!.body.toString());
    expect(upstreamSaw.stream_options).toEqual({ include_usage: true });
    const [record] = await records();
    expect(record).toMatchObject({
      stream: true,
      usage: { prompt_tokens: 12, completion_tokens: 5, total_tokens: 17 },
      usageSource: 'upstream',
    });
  });

  it('leaves a stream alone when the client asked for usage, and the SDK sees it', async () => {
    const client = await hub();
    const stream = await client.chat.completions.create({
      model: 'gpt-4o-mini',
      messages: [],
      stream: true,
      stream_options: { include_usage: true },
    });
    let usage: OpenAI.CompletionUsage | null | undefined;
    for await (const chunk of stream) usage = chunk.usage ?? usage;
    expect(usage).toMatchObject({ completion_tokens: 5 });
    const upstreamSaw = JSON.parse(mock.received[0]!.body.toString());
    expect(upstreamSaw.stream_options).toEqual({ include_usage: true });
    const [record] = await records();
    expect(record!.usage).toMatchObject({ completion_tokens: 5 });
  });

  it('counts cumulative usage once and keeps cached prompt tokens', async () => {
    const client = await hub();
    mock.script('*', { type: 'stream', chunks: 6, cumulativeUsage: true });
    const stream = await client.chat.completions.create({ model: 'gpt-4o-mini', messages: [], stream: true });
    for await (const _ of stream) void _;
    const [record] = await records();
    expect(record!.usage).toEqual({ prompt_tokens: 12, completion_tokens: 6, total_tokens: 18, cached_tokens: 4 });
  });

  it('estimates with the tokenizer when the upstream reports nothing, within a few tokens', async () => {
    const client = await hub();
    mock.script('*', { type: 'stream', chunks: 12, omitUsage: true });
    const stream = await client.chat.completions.create({
      model: 'gpt-4o-mini',
      messages: [{ role: 'user', content: 'Say hello in twelve tokens.' }],
      stream: true,
    });
    let text = '';
    for await (const chunk of stream) text += chunk.choices[0]?.delta.content ?? '';
    const [record] = await records();
    expect(record!.usageSource).toBe('estimated');
    expect(Math.abs(record!.usage!.completion_tokens - 12)).toBeLessThanOrEqual(2);
    expect(record!.usage!.completion_tokens).toBe(o200kTokens(text));
    expect(record!.usage!.prompt_tokens).toBeGreaterThan(5);
  });

  it('charges a stream the client cut short for what was delivered', async () => {
    const client = await hub();
    mock.script('*', { type: 'stream', chunks: 40, delayMs: 30 });
    const controller = new AbortController();
    const stream = await client.chat.completions.create(
      { model: 'gpt-4o-mini', messages: [], stream: true },
      { signal: controller.signal },
    );
    let text = '';
    for await (const chunk of stream) {
      text += chunk.choices[0]?.delta.content ?? '';
      if (text.split(' ').length > 3) controller.abort();
    }
    const received = mock.received[0]!;
    await mock.waitForAbort(received);
    const [record] = await records();
    expect(record!.error).toBe('client_closed');
    expect(record!.usageSource).toBe('estimated');
    expect(record!.usage!.completion_tokens).toBeGreaterThan(0);
    expect(record!.usage!.completion_tokens).toBeLessThan(40);
  });

  it('records an error sent inside a 200 stream as an error', async () => {
    const client = await hub();
    mock.script('*', { type: 'stream-error', afterChunks: 2, error: 'server_error' });
    const stream = await client.chat.completions.create({ model: 'gpt-4o-mini', messages: [], stream: true });
    await (async () => {
      for await (const _ of stream) void _;
    })().catch(() => undefined);
    const [record] = await records();
    expect(record).toMatchObject({ status: 200, error: 'server_error' });
  });

  it('logs refused requests too, and no secret ever', async () => {
    const client = await hub();
    const bad = new OpenAI({ apiKey: 'wrong-key-1234567890', baseURL: running!.baseURL(), maxRetries: 0 });
    await bad.models.list().catch(() => undefined);
    await client.embeddings.create({ model: 'text-embedding-3-small', input: 'hello' });
    const dir = running!.config.logs.dir;
    const all = await records();
    expect(all.map((r) => r.status).sort()).toEqual([200, 401]);
    expect(all.find((r) => r.status === 401)).toMatchObject({
      error: 'invalid_api_key',
      user: null,
      upstream: 'openai',
    });
    const embeddingUsage = fixtureJson<{ usage: { prompt_tokens: number } }>('embeddings.json').usage;
    expect(all.find((r) => r.status === 200)!.usage).toMatchObject({
      prompt_tokens: embeddingUsage.prompt_tokens,
      completion_tokens: 0,
    });
    for (const file of await readdir(dir)) {
      const text = await readFile(path.join(dir, file), 'utf8');
      for (const secret of [POOL_KEY, 'user-key-ann-0000000000', 'wrong-key-1234567890'])
        expect(text).not.toContain(secret);
    }
  });

  it('writes the chat log: text, parallel tool calls, and an aborted stream', async () => {
    const client = await hub(true);
    await client.chat.completions.create({
      model: 'gpt-4o-mini',
      temperature: 0.2,
      messages: [{ role: 'user', content: 'hi' }],
    });
    const tools = [{ type: 'function' as const, function: { name: 'GetWeatherArgs', parameters: {} } }];
    const toolStream = await client.chat.completions.create({
      model: 'gpt-4o',
      messages: [{ role: 'user', content: 'weather?' }],
      tools,
      stream: true,
    });
    for await (const _ of toolStream) void _;
    mock.script('*', { type: 'drop-mid-stream', afterChunks: 3 });
    const cut = await client.chat.completions.create({
      model: 'gpt-4o-mini',
      messages: [{ role: 'user', content: 'go' }],
      stream: true,
    });
    await (async () => {
      for await (const _ of cut) void _;
    })().catch(() => undefined);
    const dir = running!.config.logs.dir;
    await running!.close();
    running = undefined;
    const chats = await linesOf<ChatRecord>(dir, 'chat-');
    expect(chats).toHaveLength(3);
    const [plain, withTools, aborted] = chats;
    const fixtureText = fixtureJson<{ choices: { message: { content: string } }[] }>('chat-completion.json').choices[0]!
      .message.content;
    expect(plain).toMatchObject({
      user: 'ann',
      params: { temperature: 0.2 },
      messages: [{ role: 'user', content: 'hi' }],
      assistant: fixtureText,
      finish_reason: 'stop',
      aborted: false,
    });
    expect(withTools!.tool_calls).toHaveLength(2);
    expect(withTools!.tool_calls![0]!.function.name).toBe('GetWeatherArgs');
    expect(JSON.parse(withTools!.tool_calls![0]!.function.arguments)).toEqual({
      city: 'Edinburgh',
      country: 'GB',
      units: 'c',
    });
    expect(withTools!.tool_calls![1]!.function.name).toBe('get_stock_price');
    expect(withTools).toMatchObject({ finish_reason: 'tool_calls', tools, aborted: false });
    expect(aborted).toMatchObject({ assistant: 'Hello from', aborted: true, error: 'upstream_closed_early' });
  });
});
