import { describe, expect, it, onTestFinished } from 'vitest';
import { useMockUpstream } from '../helpers/mock.js';
import OpenAI from 'openai';
import { hsToken } from '../helpers/tokens.js';
import { useHub, type RunningHub } from '../helpers/hub.js';
import { request } from '../helpers/http.js';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { openStore } from '../../src/store/open-store.js';
import { countTokens as o200kTokens } from 'gpt-tokenizer/encoding/o200k_base';

const SECRET = 'limits-test-secret-that-is-long-enough-0000';

function token(sub: string, claims: Record<string, unknown> = {}) {
  return hsToken({ ...claims, sub }, { secret: SECRET });
}

describe('limits over HTTP', () => {
  const mock = useMockUpstream();
  const hubs = useHub();
  let running: RunningHub | undefined;

  async function hub(limits: Record<string, unknown>) {
    running = await hubs.start({
      upstreams: [{ name: 'openai', baseUrl: mock.url, keys: ['sk-limits-pool-key-00000000000000'] }],
      auth: { jwt: { secret: SECRET } },
      limits,
    });
    return running;
  }
  const client = async (hubUrl: string, sub: string, claims?: Record<string, unknown>) =>
    new OpenAI({ apiKey: await token(sub, claims), baseURL: `${hubUrl}/v1`, maxRetries: 0 });

  it("refuses past a user's limit with an OpenAI 429 the SDK raises, and every answer carries the caller's own headers", async () => {
    const { url } = await hub({ strategy: 'fixed-window', user: { requests: '3/hour' } });
    const ann = await client(url, 'ann');
    const first = await ann.chat.completions.create({ model: 'gpt-4o-mini', messages: [] }).withResponse();
    expect(first.response.headers.get('x-ratelimit-limit-requests')).toBe('3');
    expect(first.response.headers.get('x-ratelimit-remaining-requests')).toBe('2');
    await ann.chat.completions.create({ model: 'gpt-4o-mini', messages: [] });
    await ann.chat.completions.create({ model: 'gpt-4o-mini', messages: [] });
    const error = (await ann.chat.completions
      .create({ model: 'gpt-4o-mini', messages: [] })
      .catch((err: unknown) => err)) as InstanceType<typeof OpenAI.APIError>;
    expect(error).toBeInstanceOf(OpenAI.RateLimitError);
    expect(error.code).toBe('rate_limit_exceeded');
    expect(Number(error.headers?.get('retry-after'))).toBeGreaterThan(0);
    expect(error.headers?.get('x-ratelimit-remaining-requests')).toBe('0');
    expect(mock.received).toHaveLength(3);
    // bob is untouched
    await (await client(url, 'bob')).chat.completions.create({ model: 'gpt-4o-mini', messages: [] });
  });

  it('lets a token claim lower the limit', async () => {
    const { url } = await hub({ user: { requests: '100/hour' } });
    const limited = await client(url, 'carl', { limits: { requests: '1/hour' } });
    await limited.chat.completions.create({ model: 'gpt-4o-mini', messages: [] });
    const error = (await limited.chat.completions
      .create({ model: 'gpt-4o-mini', messages: [] })
      .catch((err: unknown) => err)) as InstanceType<typeof OpenAI.APIError>;
    expect(error.status).toBe(429);
    const badClaim = await client(url, 'dora', { limits: { requests: 'lots' } });
    const invalid = (await badClaim.models.list().catch((err: unknown) => err)) as InstanceType<typeof OpenAI.APIError>;
    expect(invalid.status).toBe(401);
  });

  it('refuses a request whose reservation would not fit the token limit, before calling upstream', async () => {
    const { url } = await hub({ user: { tokens: '500/day' } });
    const ann = await client(url, 'ann');
    const error = (await ann.chat.completions
      .create({ model: 'gpt-4o-mini', max_tokens: 1000, messages: [{ role: 'user', content: 'hi' }] })
      .catch((err: unknown) => err)) as InstanceType<typeof OpenAI.APIError>;
    expect(error.status).toBe(429);
    expect(error.code).toBe('tokens_limit_exceeded');
    expect(mock.received).toHaveLength(0);
    const ok = await ann.chat.completions
      .create({ model: 'gpt-4o-mini', max_tokens: 100, messages: [{ role: 'user', content: 'hi' }] })
      .withResponse();
    expect(Number(ok.response.headers.get('x-ratelimit-remaining-tokens'))).toBeLessThan(500);
  });

  describe('reservations from the bound, decided at the margin by the exact count', () => {
    // About 4 bytes a token: the bound (its UTF-8 length) is four times the exact count.
    const prose = 'The quarterly report shows revenue growing in every region, with costs held flat. '.repeat(50);
    const exactPrompt = 3 + 3 + o200kTokens('user') + o200kTokens(prose);
    const POOL = 'sk-limits-pool-key-00000000000000';
    const answerWith = (promptTokens: number) =>
      mock.always(POOL, {
        type: 'status',
        status: 200,
        body: JSON.stringify({
          id: 'chatcmpl-b',
          object: 'chat.completion',
          created: 1_764_000_000,
          model: 'gpt-4o-mini',
          choices: [{ index: 0, message: { role: 'assistant', content: 'Noted.' }, finish_reason: 'stop' }],
          usage: { prompt_tokens: promptTokens, completion_tokens: 2, total_tokens: promptTokens + 2 },
        }),
      });
    const ask = (sdk: OpenAI) =>
      sdk.chat.completions
        .create({ model: 'gpt-4o-mini', max_tokens: 100, messages: [{ role: 'user', content: prose }] })
        .withResponse();

    it("admits a request whose bound does not fit but whose exact count does, and settles to the upstream's usage", async () => {
      expect(Buffer.byteLength(prose)).toBeGreaterThan(3 * exactPrompt);
      const limit = exactPrompt + 100 + 50;
      const { url } = await hub({ strategy: 'fixed-window', user: { tokens: `${limit}/day` } });
      answerWith(exactPrompt);
      const ann = await client(url, 'ann');
      const settled = new Promise((resolve) => running!.hub.recorder.onRecord(resolve));
      const first = await ask(ann);
      // reserved: the exact prompt and max_tokens
      expect(Number(first.response.headers.get('x-ratelimit-remaining-tokens'))).toBe(limit - exactPrompt - 100);
      await settled;
      // settled to what the upstream reported: a second one no longer fits, even counted exactly
      const error = (await ask(ann).catch((err: unknown) => err)) as InstanceType<typeof OpenAI.APIError>;
      expect(error.status).toBe(429);
      expect(error.code).toBe('tokens_limit_exceeded');
      expect(mock.received).toHaveLength(1);
      // the refusal took nothing: what is left is the limit less the first request's usage
      const small = await ann.chat.completions
        .create({ model: 'gpt-4o-mini', max_tokens: 10, messages: [{ role: 'user', content: 'hi' }] })
        .withResponse();
      // a small request fits on its bound: 'user' and 'hi' by their bytes
      const smallReserved = 3 + 3 + 'user'.length + 'hi'.length + 10;
      expect(Number(small.response.headers.get('x-ratelimit-remaining-tokens'))).toBe(
        limit - (exactPrompt + 2) - smallReserved,
      );
    });

    it('never lets 50 parallel requests overdraw the limit, and only admitted ones reach the upstream', async () => {
      const limit = 10 * (exactPrompt + 100);
      const { url } = await hub({ strategy: 'fixed-window', user: { tokens: `${limit}/day` } });
      answerWith(exactPrompt);
      const ann = await client(url, 'ann');
      let recorded = 0;
      const allRecorded = new Promise<void>((resolve) =>
        running!.hub.recorder.onRecord(() => ++recorded === 50 && resolve()),
      );
      const results = await Promise.allSettled(Array.from({ length: 50 }, () => ask(ann)));
      await allRecorded;
      const admitted = results.filter((result) => result.status === 'fulfilled').length;
      for (const result of results)
        if (result.status === 'rejected')
          expect((result.reason as InstanceType<typeof OpenAI.APIError>).code).toBe('tokens_limit_exceeded');
      expect(admitted).toBeGreaterThanOrEqual(3);
      // settled ones free their ceiling for later ones, but the total never passes the limit
      expect(admitted * (exactPrompt + 2)).toBeLessThanOrEqual(limit);
      expect(mock.received).toHaveLength(admitted);
      // after settling, the counter holds exactly the upstream's usage of the admitted ones
      const probe = await ann.chat.completions
        .create({ model: 'gpt-4o-mini', max_tokens: 1, messages: [] })
        .withResponse();
      expect(Number(probe.response.headers.get('x-ratelimit-remaining-tokens'))).toBe(
        limit - admitted * (exactPrompt + 2) - (3 + 1),
      );
    });
  });

  for (const store of ['memory', 'sqlite'] as const) {
    async function monthlyHub(limits: Record<string, unknown>) {
      const dir = await mkdtemp(path.join(os.tmpdir(), 'aifd-monthly-'));
      onTestFinished(() => rm(dir, { recursive: true, force: true }));
      const storeUrl = store === 'sqlite' ? `sqlite://${path.join(dir, 'state.sqlite')}` : 'memory://';
      running = await hubs.start(
        {
          store: storeUrl,
          upstreams: [{ name: 'openai', baseUrl: mock.url, keys: ['sk-limits-pool-key-00000000000000'] }],
          auth: { jwt: { secret: SECRET } },
          limits,
        },
        { store: await openStore(storeUrl) },
      );
      return running;
    }
    const statusOf = (call: Promise<unknown>) =>
      call.then(
        () => 200,
        (err: InstanceType<typeof OpenAI.APIError>) => `${err.status} ${err.code}`,
      );

    it(`counts a per-month request limit with the real clock (${store} store)`, async () => {
      const { url } = await monthlyHub({ user: { requests: '3/month' } });
      const ann = await client(url, 'ann');
      const statuses: unknown[] = [];
      for (let i = 0; i < 6; i++)
        statuses.push(await statusOf(ann.chat.completions.create({ model: 'gpt-4o-mini', messages: [] })));
      expect(statuses).toEqual([
        200,
        200,
        200,
        '429 rate_limit_exceeded',
        '429 rate_limit_exceeded',
        '429 rate_limit_exceeded',
      ]);
    });

    it(`refuses once a monthly budget is spent, with the real clock (${store} store)`, async () => {
      // gpt-4o-mini at list price: each of these requests costs a few millionths of a dollar.
      const { url } = await monthlyHub({ budgets: { users: { cara: { monthly: 0.00002 } } } });
      const cara = await client(url, 'cara');
      const statuses: unknown[] = [];
      for (let i = 0; i < 20; i++)
        statuses.push(
          await statusOf(
            cara.chat.completions.create({
              model: 'gpt-4o-mini',
              max_tokens: 5,
              messages: [{ role: 'user', content: 'hi' }],
            }),
          ),
        );
      const passed = statuses.filter((status) => status === 200).length;
      expect(passed).toBeGreaterThan(0);
      expect(passed).toBeLessThan(20);
      expect(statuses.slice(passed).every((status) => status === '429 budget_exceeded')).toBe(true);
    });
  }

  it('refuses a model without a price to a caller with a budget, before calling upstream; gpt-3.5-turbo is counted', async () => {
    const { url } = await hub({ budgets: { users: { '*': { daily: 0.0000001 } } } });
    const ann = await client(url, 'ann');
    for (const model of ['gpt-4-32k', 'llama3', 'ft:gpt-4o-mini:team::abc']) {
      const error = (await ann.chat.completions
        .create({ model, messages: [{ role: 'user', content: 'hi' }] })
        .catch((err: unknown) => err)) as InstanceType<typeof OpenAI.APIError>;
      expect(error).toBeInstanceOf(OpenAI.PermissionDeniedError);
      expect(error.code).toBe('model_not_priced');
      expect(error.message).toContain(`"${model}" has no price`);
    }
    const priced = (await ann.chat.completions
      .create({ model: 'gpt-3.5-turbo', messages: [{ role: 'user', content: 'hi' }] })
      .catch((err: unknown) => err)) as InstanceType<typeof OpenAI.APIError>;
    expect(priced.code).toBe('budget_exceeded');
    expect(mock.received).toHaveLength(0);
  });

  it('lets a model without a price through with budgets.unpriced: allow', async () => {
    const { url } = await hub({ budgets: { unpriced: 'allow', users: { '*': { daily: 0.0000001 } } } });
    const ann = await client(url, 'ann');
    for (let i = 0; i < 3; i++)
      await ann.chat.completions.create({ model: 'gpt-4-32k', messages: [{ role: 'user', content: 'hi' }] });
    expect(mock.received).toHaveLength(3);
  });

  it('counts routesPerUser for each user, routes for all together', async () => {
    const { url } = await hub({
      strategy: 'fixed-window',
      routesPerUser: { '/v1/chat/completions': '2/hour' },
      routes: { '/v1/embeddings': '2/hour' },
    });
    const [alice, bob] = [await client(url, 'alice'), await client(url, 'bob')];
    const chat = (who: OpenAI) =>
      who.chat.completions.create({ model: 'gpt-4o-mini', messages: [] }).then(
        () => 200,
        (err: InstanceType<typeof OpenAI.APIError>) => err.status,
      );
    const embed = (who: OpenAI) =>
      who.embeddings.create({ model: 'text-embedding-3-small', input: 'x' }).then(
        () => 200,
        (err: InstanceType<typeof OpenAI.APIError>) => err.status,
      );
    expect([
      await chat(alice),
      await chat(alice),
      await chat(alice),
      await chat(bob),
      await chat(bob),
      await chat(bob),
    ]).toEqual([200, 200, 429, 200, 200, 429]);
    expect([await embed(alice), await embed(alice), await embed(bob)]).toEqual([200, 200, 429]);
  });

  it('applies limits.ip to authenticated callers too with ipAppliesTo: "all"', async () => {
    const { url } = await hub({ ip: '2/minute', ipAppliesTo: 'all' });
    const [ann, bob] = [await client(url, 'ann'), await client(url, 'bob')];
    await ann.models.list();
    await bob.models.list();
    const error = (await ann.models.list().catch((err: unknown) => err)) as InstanceType<typeof OpenAI.APIError>;
    expect(error.status).toBe(429);
    expect(error.message).toContain('address 127.0.0.1');
  });

  it('brakes credential guessing per address', async () => {
    const { url } = await hub({ ip: '3/hour' });
    for (let i = 0; i < 3; i++)
      expect((await request(`${url}/v1/models`, { headers: { authorization: 'Bearer guess-' + i } })).status).toBe(401);
    const blocked = await request(`${url}/v1/models`, { headers: { authorization: `Bearer ${await token('ann')}` } });
    expect(blocked.status).toBe(429);
    expect(blocked.json().error.code).toBe('rate_limit_exceeded');
  });

  it('paces a stream to the configured rate', async () => {
    const { url } = await hub({ streamTokenRate: '20/second' });
    mock.options.streamChunks = 30;
    const ann = await client(url, 'ann');
    const stream = await ann.chat.completions.create({ model: 'gpt-4o-mini', messages: [], stream: true });
    const arrivals: number[] = [];
    for await (const _ of stream) arrivals.push(performance.now());
    const rate = ((arrivals.length - 1) / (arrivals.at(-1)! - arrivals[0]!)) * 1000;
    expect(arrivals.length).toBeGreaterThan(30);
    expect(rate).toBeGreaterThan(18);
    expect(rate).toBeLessThan(22);
  });
});
