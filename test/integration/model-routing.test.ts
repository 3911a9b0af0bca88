import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import OpenAI from 'openai';
import { startMockUpstream, type MockUpstream } from '../mock-upstream/mock-upstream.js';
import { keyViews, useHub, type RunningHub } from '../helpers/hub.js';
import { request } from '../helpers/http.js';
import type { HubConfigInput } from '../../src/config/schema.js';

const OPENAI_KEYS = ['sk-route-openai-a-11111111111111111111', 'sk-route-openai-b-22222222222222222222'];
const AZURE_KEY = 'azure-route-key-333333333333333333333';
const LOCAL_KEY = 'sk-route-local-4444444444444444444444';
const DEV = 'fk-route-dev-000000000000000';
const INTERN = 'fk-route-intern-0000000000000';

describe('routing by model over real sockets', () => {
  let openai: MockUpstream;
  let azure: MockUpstream;
  let local: MockUpstream;
  const hubs = useHub();
  let running: RunningHub | undefined;

  beforeAll(async () => {
    [openai, azure, local] = await Promise.all([startMockUpstream(), startMockUpstream(), startMockUpstream()]);
  });
  afterAll(async () => {
    await Promise.all([openai.close(), azure.close(), local.close()]);
  });
  afterEach(async () => {
    for (const mock of [openai, azure, local]) mock.reset();
  });

  /** OpenAI, an Azure-style deployment and a local server behind one route; the model picks. */
  async function start(overrides: Partial<HubConfigInput> = {}, openaiUrl = openai.url) {
    running = await hubs.start({
      upstreams: [
        {
          name: 'openai',
          baseUrl: openaiUrl,
          keys: OPENAI_KEYS,
          models: ['gpt-4o*', 'text-embedding-*'],
          retries: 1,
          queue: { maxWait: '1s' },
        },
        {
          name: 'azure',
          baseUrl: `${azure.url}/openai`,
          keys: [AZURE_KEY],
          keyHeader: 'api-key',
          query: { 'api-version': '2024-10-21' },
          models: ['gpt-4o*', 'o3-mini'],
        },
        { name: 'local', baseUrl: local.url, keys: [LOCAL_KEY], models: ['llama3*', 'qwen2.5-7b'] },
      ],
      aliases: {
        fast: 'gpt-4o-mini',
        smart: [
          { upstream: 'openai', model: 'gpt-4o' },
          { upstream: 'local', model: 'llama3.1-70b' },
        ],
      },
      auth: {
        forwardKeys: [
          { key: DEV, user: 'dev', roles: ['dev'] },
          { key: INTERN, user: 'ivy', roles: ['intern'] },
        ],
      },
      acl: {
        default: 'allow',
        rules: [
          { roles: ['intern'], models: ['fast'], effect: 'allow' },
          { roles: ['intern'], models: ['*'], effect: 'deny' },
        ],
      },
      ...overrides,
    });
    return client(DEV);
  }

  const client = (apiKey: string) => new OpenAI({ apiKey, baseURL: running!.baseURL(), maxRetries: 0 });
  const served = () => ({ openai: openai.received.length, azure: azure.received.length, local: local.received.length });

  const accessRecords = () => running!.closeAndReadAccessLog();

  it('sends each model to the upstream that serves it, and says which one answered', async () => {
    const sdk = await start();
    const first = await sdk.chat.completions
      .create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }] })
      .withResponse();
    expect(first.response.headers.get('x-aifd-upstream')).toBe('openai');
    const second = await sdk.chat.completions
      .create({ model: 'llama3.1-8b', messages: [{ role: 'user', content: 'hi' }] })
      .withResponse();
    expect(second.response.headers.get('x-aifd-upstream')).toBe('local');
    expect(second.data.model).toBe('llama3.1-8b');
    const third = await sdk.chat.completions
      .create({ model: 'o3-mini', messages: [{ role: 'user', content: 'hi' }] })
      .withResponse();
    expect(third.response.headers.get('x-aifd-upstream')).toBe('azure');
    expect(served()).toEqual({ openai: 1, azure: 1, local: 1 });
    expect(local.received[0]!.key).toBe(LOCAL_KEY);
    expect(openai.received[0]!.key).toMatch(/^sk-route-openai-/);
  });

  it('addresses an Azure-style upstream with api-key and api-version, from config alone', async () => {
    const sdk = await start();
    await sdk.chat.completions.create({ model: 'o3-mini', messages: [{ role: 'user', content: 'hi' }] });
    const received = azure.received[0]!;
    expect(received.url).toBe('/openai/v1/chat/completions?api-version=2024-10-21');
    expect(received.headers['api-key']).toBe(AZURE_KEY);
    expect(received.headers.authorization).toBeUndefined();
  });

  it('answers an unknown model with a 404 model_not_found and calls no upstream', async () => {
    const sdk = await start();
    const error = await sdk.chat.completions
      .create({ model: 'claude-3-opus', messages: [] })
      .catch((err: unknown) => err);
    expect(error).toBeInstanceOf(OpenAI.NotFoundError);
    expect((error as InstanceType<typeof OpenAI.NotFoundError>).code).toBe('model_not_found');
    expect((error as Error).message).toContain('claude-3-opus');
    const raw = await request(`${running!.url}/v1/embeddings`, {
      method: 'POST',
      headers: { authorization: `Bearer ${DEV}`, 'content-type': 'application/json' },
      body: '{"model":"nomic-embed","input":"x"}',
    });
    expect(raw.status).toBe(404);
    expect(JSON.parse(raw.body.toString()).error).toMatchObject({
      code: 'model_not_found',
      param: 'model',
      type: 'invalid_request_error',
    });
    expect(served()).toEqual({ openai: 0, azure: 0, local: 0 });
  });

  it('rewrites an alias going out and restores it coming back (JSON)', async () => {
    const sdk = await start();
    const answer = await sdk.chat.completions.create({ model: 'fast', messages: [{ role: 'user', content: 'hi' }] });
    expect(JSON.parse(openai.received[0]!.body.toString()).model).toBe('gpt-4o-mini');
    expect(answer.model).toBe('fast');
    expect(answer.choices[0]!.message.content).toBeTruthy();
    expect(answer.usage?.total_tokens).toBeGreaterThan(0);
    const [record] = await accessRecords();
    expect(record).toMatchObject({
      alias: 'fast',
      model: 'gpt-4o-mini-2024-07-18',
      upstream: 'openai',
      status: 200,
      usageSource: 'upstream',
    });
  });

  it('rewrites an alias going out and restores it in every stream event', async () => {
    const sdk = await start();
    const stream = await sdk.chat.completions.create({
      model: 'fast',
      messages: [{ role: 'user', content: 'hi' }],
      stream: true,
      stream_options: { include_usage: true },
    });
    const models = new Set<string>();
    let text = '';
    let usage = 0;
    for await (const chunk of stream) {
      models.add(chunk.model);
      text += chunk.choices[0]?.delta.content ?? '';
      usage += chunk.usage?.total_tokens ?? 0;
    }
    expect([...models]).toEqual(['fast']);
    expect(text.length).toBeGreaterThan(0);
    expect(usage).toBeGreaterThan(0);
    expect(JSON.parse(openai.received[0]!.body.toString()).model).toBe('gpt-4o-mini');
  });

  it('falls back to the next upstream when every key of the first is revoked', async () => {
    const sdk = await start();
    openai.options.validKeys = new Set();
    const first = await sdk.chat.completions
      .create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }] })
      .withResponse();
    expect(first.data.object).toBe('chat.completion');
    expect(first.response.headers.get('x-aifd-upstream')).toBe('azure');
    // Both OpenAI keys were tried and judged; now revoked, they are not even tried.
    expect(openai.received.length).toBe(2);
    expect(keyViews(running!, 'openai').map((view) => view.status)).toEqual(['revoked', 'revoked']);
    const stream = await sdk.chat.completions.create({
      model: 'gpt-4o-mini',
      messages: [{ role: 'user', content: 'hi' }],
      stream: true,
    });
    let chunks = 0;
    for await (const chunk of stream) chunks += chunk.choices.length;
    expect(chunks).toBeGreaterThan(0);
    expect(openai.received.length).toBe(2);
    expect(azure.received.length).toBe(2);
    const records = await accessRecords();
    expect(records.map((record) => record.upstream)).toEqual(['azure', 'azure']);
    expect(records[0]!.attempts).toBe(3);
  });

  it('falls back along an alias chain when the first upstream cannot be reached', async () => {
    const closed = await startMockUpstream();
    const closedUrl = closed.url;
    await closed.close();
    const sdk = await start({}, closedUrl);
    const answer = await sdk.chat.completions
      .create({ model: 'smart', messages: [{ role: 'user', content: 'hi' }] })
      .withResponse();
    expect(answer.response.headers.get('x-aifd-upstream')).toBe('local');
    expect(answer.data.model).toBe('smart');
    expect(JSON.parse(local.received[0]!.body.toString()).model).toBe('llama3.1-70b');
  });

  it('passes a client error through without falling back', async () => {
    const sdk = await start();
    openai.script('*', { type: 'error', error: 'context_length_exceeded' });
    const error = await sdk.chat.completions
      .create({ model: 'gpt-4o-mini', messages: [] })
      .catch((err: unknown) => err);
    expect(error).toBeInstanceOf(OpenAI.BadRequestError);
    expect(served()).toEqual({ openai: 1, azure: 0, local: 0 });
  });

  it('lists the union of the models the caller may use, with aliases', async () => {
    local.options.modelIds = ['llama3.1-8b', 'llama3.1-70b', 'mistral-7b'];
    const sdk = await start();
    const ids = (await sdk.models.list()).data.map((model) => model.id);
    expect(ids).toContain('gpt-4o-mini'); // from OpenAI's own list
    expect(ids).toContain('text-embedding-3-small');
    expect(ids).not.toContain('dall-e-3'); // OpenAI lists it, but this upstream does not serve it here
    expect(ids).toContain('llama3.1-8b'); // from the local server's list
    expect(ids).not.toContain('mistral-7b');
    expect(ids).toContain('qwen2.5-7b'); // declared, though the local list lacks it
    expect(ids).toContain('o3-mini');
    expect(ids.filter((id) => id === 'gpt-4o-mini')).toHaveLength(1);
    expect(ids).toEqual(expect.arrayContaining(['fast', 'smart']));
    const alias = await sdk.models.retrieve('fast');
    expect(alias).toMatchObject({ id: 'fast', object: 'model', owned_by: 'aifd' });
  });

  it('lets an ACL allow an alias but not the model behind it', async () => {
    await start();
    const intern = client(INTERN);
    const answer = await intern.chat.completions.create({ model: 'fast', messages: [{ role: 'user', content: 'hi' }] });
    expect(answer.model).toBe('fast');
    const error = await intern.chat.completions
      .create({ model: 'gpt-4o-mini', messages: [] })
      .catch((err: unknown) => err);
    expect(error).toBeInstanceOf(OpenAI.PermissionDeniedError);
    expect((error as InstanceType<typeof OpenAI.PermissionDeniedError>).code).toBe('model_not_allowed');
    const ids = (await intern.models.list()).data.map((model) => model.id);
    expect(ids).toEqual(['fast']);
    expect(served().openai).toBe(2); // one completion, one model list
  });

  it('refuses an alias it cannot rewrite (a multipart form) instead of sending it on', async () => {
    await start({ aliases: { whisper: { upstream: 'openai', model: 'whisper-1' } } });
    const form = new FormData();
    form.set('model', 'whisper');
    form.set('file', new Blob([new Uint8Array(16)]), 'a.wav');
    const response = await fetch(`${running!.url}/v1/audio/transcriptions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${DEV}` },
      body: form,
    });
    expect(response.status).toBe(400);
    expect(((await response.json()) as { error: { message: string } }).error.message).toContain('whisper');
    expect(served().openai).toBe(0);
  });
});

describe('routing config', () => {
  it('refuses two upstreams on one route unless they name their models, and aliases to unknown upstreams', async () => {
    const { validate } = await import('../../src/config/load.js');
    const base = { store: 'memory://', auth: { anonymous: true } };
    expect(() =>
      validate(
        {
          ...base,
          upstreams: [
            { name: 'a', baseUrl: 'http://127.0.0.1:1' },
            { name: 'b', baseUrl: 'http://127.0.0.1:2' },
          ],
        },
        't',
      ),
    ).toThrow(/route "\/" is used twice/);
    expect(() =>
      validate(
        {
          ...base,
          upstreams: [
            { name: 'a', baseUrl: 'http://127.0.0.1:1', models: ['x*'] },
            { name: 'b', baseUrl: 'http://127.0.0.1:2' },
          ],
        },
        't',
      ),
    ).not.toThrow();
    expect(() =>
      validate(
        {
          ...base,
          upstreams: [{ name: 'a', baseUrl: 'http://127.0.0.1:1' }],
          aliases: { fast: { upstream: 'nope', model: 'x' } },
        },
        't',
      ),
    ).toThrow(/no upstream named "nope"/);
  });
});
