/**
 * Anthropic upstreams end to end: the official @anthropic-ai/sdk as the client, aifd in-process
 * with a forward key, the Anthropic mock as the upstream (and the OpenAI mock beside it where both
 * share a route); raw HTTP for the edge cases.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import Anthropic from '@anthropic-ai/sdk';
import OpenAI from 'openai';
import { AnthropicMock, anthropicFixture } from '../mock-upstream/anthropic.js';
import { useMockUpstream } from '../helpers/mock.js';
import { keyViews, useHub, type RunningHub } from '../helpers/hub.js';
import { request } from '../helpers/http.js';
import { png } from '../helpers/media.js';
import { readJsonLines } from '../helpers/logs.js';
import { keyHash } from '../../src/util/hash.js';
import { costOf, priceTable } from '../../src/usage/prices.js';
import type { AccessRecord } from '../../src/logs/access-record.js';

const KEY_A = 'sk-ant-api03-pool-a-000000000000000000000000';
const KEY_B = 'sk-ant-api03-pool-b-111111111111111111111111';
const OPENAI_KEY = 'sk-openai-pool-key-2222222222222222222222';
const ANN = 'fk-anthropic-ann-0000000000000000';
const MODEL = 'claude-sonnet-4-5-20250929';

const anthropic = new AnthropicMock();
const openai = useMockUpstream();
beforeAll(async () => {
  await anthropic.start();
});
afterEach(() => anthropic.reset());
afterAll(() => anthropic.close());

const hubs = useHub();

async function gateway(extra: Record<string, unknown> = {}, keys = [KEY_A, KEY_B]): Promise<RunningHub> {
  return hubs.start({
    upstreams: [{ name: 'claude', api: 'anthropic', baseUrl: anthropic.url, keys, retries: 1 }],
    auth: { forwardKeys: [{ key: ANN, user: 'ann', roles: [] }] },
    logs: { chat: true },
    ...extra,
  } as never);
}

const sdk = (running: RunningHub, key = ANN) => new Anthropic({ apiKey: key, baseURL: running.url, maxRetries: 0 });

const ask = { model: MODEL, max_tokens: 200, messages: [{ role: 'user' as const, content: 'Hello, Claude' }] };

const records = (running: RunningHub) => running.closeAndReadAccessLog();

function post(running: RunningHub, body: unknown, headers: Record<string, string> = {}) {
  return request(`${running.url}/v1/messages`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-api-key': ANN, 'anthropic-version': '2023-06-01', ...headers },
    body: JSON.stringify(body),
  });
}

/** The SSE events of a raw stream, as [event, data]. */
function events(text: string): [string, any][] {
  return text
    .split('\n\n')
    .filter((block) => block.trim() !== '')
    .map((block) => {
      const event = /^event: (.*)$/m.exec(block)?.[1] ?? '';
      const data = /^data: (.*)$/m.exec(block)?.[1] ?? 'null';
      return [event, JSON.parse(data)];
    });
}

describe('an Anthropic upstream', () => {
  it('answers the SDK with a pool key, and records the usage and the cost', async () => {
    const running = await gateway();
    const message = await sdk(running).messages.create(ask);
    expect(message.type).toBe('message');
    expect(message.content[0]).toMatchObject({ type: 'text' });
    const seen = anthropic.received[0]!;
    // The pool key goes as x-api-key; the client's own credential never does; its version passes.
    expect([KEY_A, KEY_B]).toContain(seen.key);
    expect(JSON.stringify(seen.headers)).not.toContain(ANN);
    expect(seen.headers['anthropic-version']).toMatch(/^\d{4}-\d{2}-\d{2}$/);
    const [record] = await records(running);
    expect(record).toMatchObject({ user: 'ann', model: MODEL, status: 200, usageSource: 'upstream' });
    expect(record!.usage).toMatchObject({
      prompt_tokens: message.usage.input_tokens,
      completion_tokens: message.usage.output_tokens,
    });
    expect(record!.key).toBe(keyHash(seen.key!));
  });

  it('streams to the SDK and counts the output of message_delta', async () => {
    const running = await gateway();
    const stream = sdk(running).messages.stream(ask);
    let text = '';
    stream.on('text', (delta) => {
      text += delta;
    });
    const final = await stream.finalMessage();
    expect(text).toBe('Hello! How can I help you today?');
    const [record] = await records(running);
    expect(record!.stream).toBe(true);
    expect(record!.usage).toMatchObject({ completion_tokens: final.usage.output_tokens });
    expect(record!.usage!.completion_tokens).toBeGreaterThan(1);
    expect(record!.usageSource).toBe('upstream');
  });

  it('passes tool use through, and the chat log holds the call', async () => {
    const running = await gateway();
    const message = await sdk(running).messages.create({
      ...ask,
      tools: [{ name: 'get_weather', description: 'weather', input_schema: { type: 'object', properties: {} } }],
      tool_choice: { type: 'any' },
    });
    const call = message.content.find((block) => block.type === 'tool_use');
    expect(call).toMatchObject({ name: 'get_weather', input: { location: 'San Francisco' } });
    const stream = await sdk(running)
      .messages.stream({
        ...ask,
        tools: [{ name: 'get_weather', input_schema: { type: 'object', properties: {} } }],
        tool_choice: { type: 'tool', name: 'get_weather' },
      })
      .finalMessage();
    expect(stream.content.find((block) => block.type === 'tool_use')).toMatchObject({
      input: { location: 'San Francisco' },
    });
    await running.close();
    const chat = await readJsonLines<{ tool_calls: { function: { name: string; arguments: string } }[] }>(
      running.config.logs.dir,
      'chat-',
    );
    expect(chat).toHaveLength(2);
    for (const line of chat) {
      expect(line.tool_calls[0]!.function.name).toBe('get_weather');
      expect(JSON.parse(line.tool_calls[0]!.function.arguments)).toEqual({ location: 'San Francisco' });
    }
  });

  it('takes a base64 image and reserves it by Claude’s image rule, not by its base64', async () => {
    // A user budget makes aifd reserve the prompt; a 300 KB PNG counted as text would not fit it.
    const running = await gateway({ limits: { budgets: { users: { ann: { daily: 0.05 } } } } });
    const image = png(1024, 768, true);
    expect(image.length).toBeGreaterThan(100_000);
    const message = await sdk(running).messages.create({
      ...ask,
      messages: [
        {
          role: 'user',
          content: [
            { type: 'image', source: { type: 'base64', media_type: 'image/png', data: image.toString('base64') } },
            { type: 'text', text: 'What is in this picture?' },
          ],
        },
      ],
    });
    expect(message.type).toBe('message');
    expect(anthropic.received).toHaveLength(1);
  });

  it('prices cache reads and writes at their own rates', async () => {
    const running = await gateway();
    const cached = {
      ...ask,
      system: [
        {
          type: 'text' as const,
          text: 'You are a careful assistant. '.repeat(200),
          cache_control: { type: 'ephemeral' as const },
        },
      ],
    };
    const first = await sdk(running).messages.create(cached);
    const second = await sdk(running).messages.create(cached);
    expect(first.usage.cache_creation_input_tokens).toBeGreaterThan(0);
    expect(second.usage.cache_read_input_tokens).toBe(first.usage.cache_creation_input_tokens);
    const [written, read] = await records(running);
    const prices = priceTable(undefined);
    expect(written!.usage).toMatchObject({
      prompt_tokens: first.usage.input_tokens + first.usage.cache_creation_input_tokens!,
      cache_write_tokens: first.usage.cache_creation_input_tokens,
    });
    expect(read!.usage).toMatchObject({ cached_tokens: second.usage.cache_read_input_tokens });
    // $3 per million plain, $3.75 written, $0.30 read, $15 out (Sonnet 4.5).
    const expectWritten =
      (first.usage.input_tokens * 3 +
        first.usage.cache_creation_input_tokens! * 3.75 +
        first.usage.output_tokens * 15) /
      1e6;
    expect(costOf(prices, MODEL, written!.usage!)).toBeCloseTo(expectWritten, 12);
    const expectRead =
      (second.usage.input_tokens * 3 + second.usage.cache_read_input_tokens! * 0.3 + second.usage.output_tokens * 15) /
      1e6;
    expect(costOf(prices, MODEL, read!.usage!)).toBeCloseTo(expectRead, 12);
  });

  it('serves a repeated question from the cache when asked to, at no cost', async () => {
    const running = await gateway();
    const first = await post(running, ask, { 'x-aifd-cache': 'on' });
    const second = await post(running, ask, { 'x-aifd-cache': 'on' });
    expect(first.headers['x-aifd-cache']).toBe('miss');
    expect(second.headers['x-aifd-cache']).toBe('hit');
    expect(second.json()).toEqual(first.json());
    expect(anthropic.received).toHaveLength(1);
    const [, hit] = await records(running);
    expect(hit).toMatchObject({ cache: 'hit', model: MODEL });
  });

  it('cools a key that is rate limited until its reset, and another key answers', async () => {
    const running = await gateway();
    const reset = new Date(Date.now() + 30_000).toISOString();
    anthropic.always(KEY_A, {
      type: 'error',
      error: 'rate_limit',
      headers: { 'retry-after': '30', 'anthropic-ratelimit-requests-reset': reset },
    });
    for (let i = 0; i < 6; i++) expect((await post(running, ask)).status).toBe(200);
    // A was tried once, refused, and rests until its reset: B answered everything.
    expect(anthropic.received.filter((seen) => seen.key === KEY_A)).toHaveLength(1);
    expect(anthropic.received.filter((seen) => seen.key === KEY_B)).toHaveLength(6);
    const cooled = keyViews(running).find((view) => view.hash === keyHash(KEY_A))!;
    expect(cooled.status).toBe('cooling');
    expect(cooled.recoversInMs).toBeGreaterThan(25_000);
    expect(cooled.recoversInMs).toBeLessThanOrEqual(30_000);
    // B's own limits are read from Anthropic's headers (its reset an RFC 3339 time, a minute off).
    const fresh = keyViews(running).find((view) => view.hash === keyHash(KEY_B))!;
    expect(fresh.resetRequestsInMs).toBeGreaterThan(50_000);
  });

  it('retries a 529 overloaded on another key before the first byte', async () => {
    const running = await gateway();
    anthropic.script('*', { type: 'error', error: 'overloaded' });
    const answer = await post(running, ask);
    expect(answer.status).toBe(200);
    expect(anthropic.received.map((seen) => seen.key).sort()).toEqual([KEY_A, KEY_B].sort());
    const [record] = await records(running);
    expect(record!.attempts).toBe(2);
  });

  it('charges a stream cut after message_start for what was delivered, and ends it with an Anthropic error event', async () => {
    const running = await gateway();
    anthropic.script('*', { type: 'cut-after-start' });
    const answer = await post(running, { ...ask, stream: true });
    expect(answer.status).toBe(200);
    const received = events(answer.text);
    expect(received[0]![0]).toBe('message_start');
    const last = received.at(-1)!;
    expect(last[0]).toBe('error');
    expect(last[1]).toMatchObject({ type: 'error', error: { type: 'api_error' } });
    const [record] = await records(running);
    const start = received[0]![1].message.usage;
    expect(record!.usage!.prompt_tokens).toBe(start.input_tokens);
    // One text delta ("Hello! ") was delivered: counted, at least a token.
    expect(record!.usage!.completion_tokens).toBeGreaterThanOrEqual(1);
    expect(record!.usageSource).toBe('estimated');
  });
});

describe('an Anthropic upstream refuses', () => {
  it('a request whose x-api-key and Authorization name different callers, in Anthropic’s shape', async () => {
    const running = await gateway();
    const refused = await post(running, ask, { authorization: 'Bearer fk-someone-else-000000000' });
    expect(refused.status).toBe(401);
    expect(refused.json()).toEqual({
      type: 'error',
      error: { type: 'authentication_error', message: expect.stringContaining('two different credentials') },
    });
    expect(anthropic.received).toHaveLength(0);
    // The same credential twice is one caller.
    expect((await post(running, ask, { authorization: `Bearer ${ANN}` })).status).toBe(200);
  });

  it('passes on the 400 for an anthropic-version the upstream rejects', async () => {
    const running = await gateway();
    // The client's own version and beta flags reach the upstream as it sent them.
    expect((await post(running, ask, { 'anthropic-beta': 'context-1m-2025-08-07' })).status).toBe(200);
    expect(anthropic.received[0]!.headers['anthropic-version']).toBe('2023-06-01');
    expect(anthropic.received[0]!.headers['anthropic-beta']).toBe('context-1m-2025-08-07');
    const answer = await post(running, ask, { 'anthropic-version': '1999-01-01' });
    expect(answer.status).toBe(400);
    expect(answer.json()).toMatchObject({ type: 'error', error: { type: 'invalid_request_error' } });
    // The key did nothing wrong.
    expect(keyViews(running).every((view) => view.status === 'ok')).toBe(true);
  });

  it('passes an event of an unknown type through, and still counts the usage', async () => {
    const running = await gateway();
    anthropic.script('*', { type: 'unknown-event' });
    const answer = await post(running, { ...ask, stream: true });
    const received = events(answer.text);
    expect(received.map(([event]) => event)).toContain('future_event');
    expect(received.at(-1)![0]).toBe('message_stop');
    const [record] = await records(running);
    expect(record!.usageSource).toBe('upstream');
    expect(record!.usage!.completion_tokens).toBe(
      received.find(([event]) => event === 'message_delta')![1].usage.output_tokens,
    );
  });

  it('an OpenAI model on an Anthropic route: 404 in Anthropic’s shape, no upstream call', async () => {
    const running = await gateway();
    const answer = await post(running, { ...ask, model: 'gpt-4o' });
    expect(answer.status).toBe(404);
    expect(answer.json()).toMatchObject({ type: 'error', error: { type: 'not_found_error' } });
    expect(anthropic.received).toHaveLength(0);
    const sdkError = await sdk(running)
      .messages.create({ ...ask, model: 'gpt-4o-mini' })
      .catch((err: unknown) => err);
    expect(sdkError).toBeInstanceOf(Anthropic.NotFoundError);
  });

  it('a budget used up: 429 in Anthropic’s shape', async () => {
    const running = await gateway({ limits: { budgets: { users: { ann: { daily: 0.00001 } } } } });
    const refused = await post(running, { ...ask, max_tokens: 4000 });
    expect(refused.status).toBe(429);
    expect(refused.json()).toMatchObject({ type: 'error', error: { type: 'rate_limit_error' } });
    expect(anthropic.received).toHaveLength(0);
  });
});

describe('OpenAI and Anthropic upstreams on one route', () => {
  it('sends each API to its own kind of upstream, aliases included, and each is answered in its own shape', async () => {
    const running = await hubs.start({
      upstreams: [
        { name: 'openai', baseUrl: openai.url, keys: [OPENAI_KEY] },
        { name: 'claude', api: 'anthropic', baseUrl: anthropic.url, keys: [KEY_A] },
      ],
      aliases: { fast: { upstream: 'claude', model: 'claude-haiku-4-5-20251001' } },
      auth: { forwardKeys: [{ key: ANN, user: 'ann', roles: [] }] },
    } as never);
    const chat = await new OpenAI({ apiKey: ANN, baseURL: running.baseURL(), maxRetries: 0 }).chat.completions.create({
      model: 'gpt-4o-mini',
      messages: [{ role: 'user', content: 'hi' }],
    });
    expect(chat.object).toBe('chat.completion');
    const message = await sdk(running).messages.create(ask);
    expect(message.type).toBe('message');
    const aliased = await sdk(running).messages.create({ ...ask, model: 'fast' });
    expect(aliased.model).toBe('fast');
    expect(JSON.parse(anthropic.received.at(-1)!.body.toString()).model).toBe('claude-haiku-4-5-20251001');
    expect(openai.received).toHaveLength(1);
    expect(anthropic.received).toHaveLength(2);
    // An Anthropic client listing models gets Anthropic's list: the upstream's models and the alias.
    const listed = await sdk(running).models.list();
    const ids = listed.data.map((model) => model.id);
    expect(ids).toEqual(expect.arrayContaining(['claude-haiku-4-5-20251001', 'fast']));
    expect(ids).not.toContain('gpt-4o-mini');
    expect(openai.received[0]!.key).toBe(OPENAI_KEY);
    // An OpenAI client's own error stays OpenAI-shaped on the shared route.
    const missing = await request(`${running.url}/v1/chat/completions`, { method: 'POST' });
    expect(missing.json()).toHaveProperty('error.code', 'missing_credentials');
    const records: AccessRecord[] = await running.closeAndReadAccessLog();
    expect(records.map((record) => record.upstream).sort()).toEqual(['claude', 'claude', 'claude', 'openai', 'openai']);
  });

  it('probes an Anthropic key with the models list, which costs nothing', async () => {
    anthropic.validKeys = new Set([KEY_A]);
    const running = await gateway();
    const results = await running.hub.checkKeys('claude');
    expect(results.map((result) => [result.hash, result.verdict]).sort()).toEqual(
      [
        [keyHash(KEY_A), 'ok'],
        [keyHash(KEY_B), 'revoked'],
      ].sort(),
    );
    expect(anthropic.received.every((seen) => seen.method === 'GET' && seen.url === '/v1/models')).toBe(true);
    expect(anthropic.received.every((seen) => seen.headers['anthropic-version'] === '2023-06-01')).toBe(true);
    expect(results.find((result) => result.verdict === 'ok')!.models).toContain('claude-haiku-4-5-20251001');
  });
});

describe('the Anthropic mock', () => {
  it('streams in the recorded events’ shape', async () => {
    const mock = await new AnthropicMock().start();
    try {
      const answer = await request(`${mock.url}/v1/messages`, {
        method: 'POST',
        headers: { 'x-api-key': 'k', 'anthropic-version': '2023-06-01' },
        body: JSON.stringify({ ...ask, stream: true }),
      });
      const recorded = events(anthropicFixture('message-stream.sse')).map(([event]) => event);
      const served = events(answer.text).map(([event]) => event);
      expect([...new Set(served)]).toEqual([...new Set(recorded)]);
      expect(Object.keys(events(answer.text)[0]![1].message).sort()).toEqual(
        Object.keys(events(anthropicFixture('message-stream.sse'))[0]![1].message).sort(),
      );
      expect(answer.headers['request-id']).toMatch(/^req_/);
    } finally {
      await mock.close();
    }
  });
});
