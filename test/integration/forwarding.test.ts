import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import OpenAI, { toFile } from 'openai';
import { startMockUpstream, type MockUpstream } from '../mock-upstream/mock-upstream.js';
import { fixture } from '../mock-upstream/fixtures.js';
import { startHub, type RunningHub } from '../helpers/hub.js';
import { rawExchange, request } from '../helpers/http.js';

const POOL_KEY = 'sk-pool-test-0123456789abcdefghij';
const CLIENT_KEY = 'sk-client-own-key-9876543210zyxw';

describe('forwarding core', () => {
  let openaiMock: MockUpstream;
  let localMock: MockUpstream;
  let running: RunningHub;

  beforeAll(async () => {
    openaiMock = await startMockUpstream();
    localMock = await startMockUpstream();
    running = await startHub({
      upstreams: [
        { name: 'openai', route: '/', baseUrl: openaiMock.url, keys: [POOL_KEY] },
        { name: 'local', route: '/local', baseUrl: localMock.url, keys: [] },
      ],
      auth: { anonymous: true },
      listen: { maxBodySize: '64kb' },
    });
  });
  afterAll(async () => {
    await running.close();
    await openaiMock.close();
    await localMock.close();
  });
  afterEach(() => {
    openaiMock.reset();
    localMock.reset();
  });

  const sdk = (route = '', apiKey = CLIENT_KEY) =>
    new OpenAI({ apiKey, baseURL: running.baseURL(route), maxRetries: 0 });

  it('forwards a chat completion and returns the upstream bytes unchanged', async () => {
    const res = await request(`${running.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${CLIENT_KEY}` },
      body: JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }] }),
    });
    expect(res.status).toBe(200);
    expect(res.body.equals(fixture('chat-completion.json'))).toBe(true);
    // a version 7 UUID: ids sort by time (the SQL sinks key their tables on it)
    expect(res.headers['x-aifd-request-id']).toMatch(
      /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/,
    );
    // a pool key's own rate-limit state is not the caller's business
    expect(res.headers['x-ratelimit-remaining-requests']).toBeUndefined();
    expect(res.headers['openai-processing-ms']).toBeDefined();

    const completion = await sdk().chat.completions.create({
      model: 'gpt-4o-mini',
      messages: [{ role: 'user', content: 'hi' }],
    });
    expect(completion.choices[0]?.message.content).toBe(
      JSON.parse(fixture('chat-completion.json').toString()).choices[0].message.content,
    );
  });

  it('streams a chat completion through the SDK', async () => {
    const stream = await sdk().chat.completions.create({
      model: 'gpt-4o-mini',
      messages: [{ role: 'user', content: 'hi' }],
      stream: true,
      stream_options: { include_usage: true },
    });
    let text = '';
    let usage: OpenAI.CompletionUsage | undefined | null;
    for await (const chunk of stream) {
      text += chunk.choices[0]?.delta.content ?? '';
      if (chunk.usage) usage = chunk.usage;
    }
    expect(text).toBe('Hello from the mock upstream');
    expect(usage?.completion_tokens).toBe(5);
  });

  it('replays recorded SSE byte for byte (parallel tool calls)', async () => {
    openaiMock.script('*', { type: 'replay', file: 'chat-stream-tool-calls.sse' });
    const res = await request(`${running.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'gpt-4o', stream: true, stream_options: { include_usage: true }, messages: [] }),
    });
    expect(res.headers['content-type']).toBe('text/event-stream; charset=utf-8');
    expect(res.body.equals(fixture('chat-stream-tool-calls.sse'))).toBe(true);
  });

  it('forwards embeddings and models', async () => {
    const embedding = await sdk().embeddings.create({
      model: 'text-embedding-3-small',
      input: 'hello',
      encoding_format: 'base64',
    });
    expect(embedding.data[0]?.embedding).toBe(JSON.parse(fixture('embeddings.json').toString()).data[0].embedding);
    const models = await sdk().models.list();
    expect(models.data.length).toBe(JSON.parse(fixture('models.json').toString()).data.length);
    const model = await sdk().models.retrieve('gpt-4o-mini');
    expect(model.owned_by).toBe('system');
  });

  it('forwards a multipart audio upload byte for byte', async () => {
    const audio = Buffer.alloc(20_000);
    for (let i = 0; i < audio.length; i++) audio[i] = (i * 7919) % 256;
    const result = await sdk().audio.transcriptions.create({
      model: 'whisper-1',
      file: await toFile(audio, 'speech.mp3'),
    });
    expect(result.text).toMatch(/^received \d+ bytes$/);
    const received = await openaiMock.waitForRequest((r) => r.url === '/v1/audio/transcriptions');
    expect(received.headers['content-type']).toMatch(/^multipart\/form-data; boundary=/);
    expect(received.body.includes(audio)).toBe(true);
    expect(received.headers['content-length']).toBe(String(received.body.length));
  });

  it('routes by longest prefix and strips the prefix', async () => {
    const models = await sdk('/local').models.list();
    expect(models.data.length).toBeGreaterThan(0);
    const received = await localMock.waitForRequest();
    expect(received.url).toBe('/v1/models');
    expect(openaiMock.received.length).toBe(0);
  });

  it('pool mode replaces the client credential; pass-through keeps it', async () => {
    await sdk().chat.completions.create({ model: 'gpt-4o-mini', messages: [] });
    const pooled = await openaiMock.waitForRequest();
    expect(pooled.headers.authorization).toBe(`Bearer ${POOL_KEY}`);
    expect(JSON.stringify(pooled.headers)).not.toContain(CLIENT_KEY);

    await request(`${running.url}/v1/chat/completions`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        authorization: `Bearer ${CLIENT_KEY}`,
        'api-key': CLIENT_KEY,
        'x-api-key': CLIENT_KEY,
      },
      body: '{"model":"gpt-4o-mini","messages":[]}',
    });
    const second = await openaiMock.waitForRequest((r) => r.seq > pooled.seq);
    expect(JSON.stringify(second.headers)).not.toContain(CLIENT_KEY);

    await sdk('/local').chat.completions.create({ model: 'llama3', messages: [] });
    const passed = await localMock.waitForRequest();
    expect(passed.headers.authorization).toBe(`Bearer ${CLIENT_KEY}`);
  });

  it('sets x-forwarded-for and drops hop-by-hop headers', async () => {
    await request(`${running.url}/local/v1/models`, {
      headers: {
        connection: 'keep-alive, x-secret-hop',
        'x-secret-hop': 'no',
        'proxy-authorization': 'Basic abc',
        te: 'trailers',
      },
    });
    const received = await localMock.waitForRequest();
    expect(received.headers['x-forwarded-for']).toBe('127.0.0.1');
    expect(received.headers['x-secret-hop']).toBeUndefined();
    expect(received.headers['proxy-authorization']).toBeUndefined();
    expect(received.headers.te).toBeUndefined();
  });

  it('forwards non-JSON bodies untouched and any method or new path', async () => {
    const body = Buffer.from('not json at all \u0000\u0001', 'utf8');
    const res = await request(`${running.url}/v1/some/new/api?x=1`, {
      method: 'PATCH',
      headers: { 'content-type': 'application/octet-stream' },
      body,
    });
    expect(res.status).toBe(404);
    expect(res.json().error.message).toBe('Invalid URL (PATCH /v1/some/new/api)');
    const received = await openaiMock.waitForRequest();
    expect(received.url).toBe('/v1/some/new/api?x=1');
    expect(received.method).toBe('PATCH');
    expect(received.body.equals(body)).toBe(true);
  });

  it('refuses invalid JSON and wrongly typed fields with a 400 and keeps serving', async () => {
    const bad = await request(`${running.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{"model": "gpt-4o-mini",',
    });
    expect(bad.status).toBe(400);
    expect(bad.json().error.code).toBe('invalid_json');
    const wrongType = await request(`${running.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{"model": 42}',
    });
    expect(wrongType.status).toBe(400);
    expect(wrongType.json().error).toMatchObject({ code: 'invalid_request', param: 'model' });
    expect(openaiMock.received.length).toBe(0);
    const ok = await sdk().chat.completions.create({ model: 'gpt-4o-mini', messages: [] });
    expect(ok.id).toBeTruthy();
  });

  it('answers 413 for a body over the limit, OpenAI-shaped, and the SDK raises it', async () => {
    const big = 'x'.repeat(70 * 1024);
    const error = await sdk()
      .chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: big }] })
      .catch((err: unknown) => err);
    expect(error).toBeInstanceOf(OpenAI.APIError);
    expect((error as InstanceType<typeof OpenAI.APIError>).status).toBe(413);
    expect((error as InstanceType<typeof OpenAI.APIError>).code).toBe('request_too_large');
    expect(openaiMock.received.length).toBe(0);
    // chunked upload without content-length is cut at the limit too
    const chunked = await request(`${running.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'transfer-encoding': 'chunked' },
      body: big,
    });
    expect(chunked.status).toBe(413);
    expect(chunked.headers['x-aifd-request-id']).toBeTruthy();
  });

  it('answers /healthz and malformed HTTP', async () => {
    const health = await request(`${running.url}/healthz`);
    expect(health.status).toBe(200);
    expect(health.json()).toEqual({ status: 'ok' });
    const port = Number(new URL(running.url).port);
    const raw = await rawExchange(port, 'GARBAGE\r\n\r\n');
    expect(raw).toMatch(/^HTTP\/1.1 400/);
    expect(raw).toContain('"type":"invalid_request_error"');
    const conflicting = await rawExchange(
      port,
      'POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n',
    );
    expect(conflicting).toMatch(/^HTTP\/1.1 400/);
    expect((await request(`${running.url}/healthz`)).status).toBe(200);
  });
});

describe('upstream failures', () => {
  let mock: MockUpstream;
  let running: RunningHub;
  const keyA = 'sk-key-a-000000000000000000000001';
  const keyB = 'sk-key-b-000000000000000000000002';

  beforeAll(async () => {
    mock = await startMockUpstream();
    running = await startHub({
      upstreams: [
        {
          name: 'openai',
          baseUrl: mock.url,
          keys: [keyA, keyB],
          retries: 1,
          timeouts: { connectMs: 500, firstByteMs: 400, streamFirstByteMs: 300, idleMs: 1000 },
        },
        { name: 'dead', route: '/dead', baseUrl: 'http://127.0.0.1:1', keys: [] },
      ],
      auth: { anonymous: true },
    });
  });
  afterAll(async () => {
    await running.close();
    await mock.close();
  });
  afterEach(() => mock.reset());

  const sdk = (route = '') => new OpenAI({ apiKey: 'client', baseURL: running.baseURL(route), maxRetries: 0 });

  it('gives an OpenAI-shaped 502 for an unreachable upstream', async () => {
    const error = (await sdk('/dead')
      .models.list()
      .catch((err: unknown) => err)) as InstanceType<typeof OpenAI.APIError>;
    expect(error).toBeInstanceOf(OpenAI.InternalServerError);
    expect(error.status).toBe(502);
    expect(error.code).toBe('upstream_unreachable');
    expect(error.message).not.toContain('sk-');
  });

  it('gives a 504 when the upstream sends no response in time, on both keys', async () => {
    mock.always('*', { type: 'hang' });
    const error = (await sdk()
      .chat.completions.create({ model: 'gpt-4o-mini', messages: [] })
      .catch((err: unknown) => err)) as InstanceType<typeof OpenAI.APIError>;
    expect(error).toBeInstanceOf(OpenAI.InternalServerError);
    expect(error.status).toBe(504);
    expect(error.code).toBe('upstream_timeout');
    expect(mock.received.map((r) => r.key).sort()).toEqual([keyA, keyB].sort());
    await Promise.all(mock.received.map((r) => mock.waitForAbort(r)));
  });

  it('retries a 429 or 500 on the other key before anything reaches the client', async () => {
    mock.script('*', { type: 'error', error: 'rate_limit_requests' });
    const ok = await sdk().chat.completions.create({ model: 'gpt-4o-mini', messages: [] });
    expect(ok.object).toBe('chat.completion');
    expect(mock.received.length).toBe(2);
    expect(mock.received[0]!.key).not.toBe(mock.received[1]!.key);
  });

  it('passes the last upstream error through when every attempt fails', async () => {
    mock.always('*', { type: 'error', error: 'server_error' });
    const res = await request(`${running.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{"model":"gpt-4o-mini"}',
    });
    expect(res.status).toBe(500);
    expect(res.body.equals(fixture('errors/500-server_error.json'))).toBe(true);
    expect(mock.received.length).toBe(2);
  });

  it('times out a stream whose first byte does not come, and a stream that goes idle', async () => {
    mock.always('*', { type: 'hang' });
    const firstByte = await request(`${running.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{"model":"gpt-4o-mini","stream":true}',
    });
    expect(firstByte.status).toBe(504);
    mock.reset();
    mock.always('*', { type: 'hang-after-headers' });
    const idle = await request(`${running.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{"model":"gpt-4o-mini","stream":true}',
    });
    expect(idle.status).toBe(200);
    const lastEvent = JSON.parse(idle.text.trim().replace(/^data: /, ''));
    expect(lastEvent.error.code).toBe('upstream_bad_response');
  });

  it('ends an SSE stream cut by the upstream with an error event the SDK raises', async () => {
    mock.script('*', { type: 'drop-mid-stream', afterChunks: 3 });
    // The request leaves the in-flight list once its usage (estimated here: the upstream sent none) is recorded.
    const recorded = new Promise((resolve) => running.hub.recorder.onRecord(resolve));
    const stream = await sdk().chat.completions.create({ model: 'gpt-4o-mini', messages: [], stream: true });
    let text = '';
    const error = await (async () => {
      for await (const chunk of stream) text += chunk.choices[0]?.delta.content ?? '';
    })().catch((err: unknown) => err);
    expect(text).toBe('Hello from');
    expect(error).toBeInstanceOf(OpenAI.APIError);
    await recorded;
    await new Promise(setImmediate);
    expect(running.hub.inFlight()).toBe(0);
  });

  it('relays chunks as they come: the first arrives long before the stream ends', async () => {
    mock.script('*', { type: 'stream', chunks: 4, delayMs: 300 });
    const started = performance.now();
    const stream = await sdk().chat.completions.create({ model: 'gpt-4o-mini', messages: [], stream: true });
    const arrivals: number[] = [];
    for await (const chunk of stream) {
      if (chunk.choices[0]?.delta.content) arrivals.push(performance.now() - started);
    }
    const total = performance.now() - started;
    expect(arrivals.length).toBe(4);
    // events are 300 ms apart upstream; buffering would bunch them at the end
    expect(arrivals[0]!).toBeLessThan(total - 600);
    expect(arrivals[3]! - arrivals[0]!).toBeGreaterThan(600);
  });

  it('aborts the upstream request when the client goes away', async () => {
    mock.script('*', { type: 'stream', chunks: 50, delayMs: 50 });
    const controller = new AbortController();
    const stream = await sdk().chat.completions.create(
      { model: 'gpt-4o-mini', messages: [], stream: true },
      { signal: controller.signal },
    );
    const received = await mock.waitForRequest();
    let contentChunks = 0;
    for await (const chunk of stream) {
      if (chunk.choices[0]?.delta.content) {
        contentChunks++;
        controller.abort();
      }
    }
    await mock.waitForAbort(received);
    expect(received.aborted).toBe(true);
    expect(contentChunks).toBe(1);
  });
});
