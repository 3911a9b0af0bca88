import { afterEach, describe, expect, it, onTestFinished } from 'vitest';
import { useMockUpstream } from '../helpers/mock.js';
import OpenAI from 'openai';
import * as jose from 'jose';
import { startHub, type RunningHub } from '../helpers/hub.js';
import { request } from '../helpers/http.js';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { openStore } from '../../src/store/open-store.js';

const SECRET = 'limits-test-secret-that-is-long-enough-0000';

async function token(sub: string, claims: Record<string, unknown> = {}) {
  return new jose.SignJWT({ roles: [], ...claims }).setProtectedHeader({ alg: 'HS256' }).setSubject(sub).setIssuer('aifd').setAudience('aifd').setJti(sub + Math.random()).setExpirationTime('1h').sign(new TextEncoder().encode(SECRET));
}

describe('limits over HTTP', () => {
  const mock = useMockUpstream();
  let running: RunningHub | undefined;
  afterEach(async () => {
    await running?.close();
    running = undefined;
  });

  async function hub(limits: Record<string, unknown>) {
    running = await startHub({ upstreams: [{ name: 'openai', baseUrl: mock.url, keys: ['sk-limits-pool-key-00000000000000'] }], auth: { jwt: { secret: SECRET } }, limits });
    return running;
  }
  const client = async (hubUrl: string, sub: string, claims?: Record<string, unknown>) => new OpenAI({ apiKey: await token(sub, claims), baseURL: `${hubUrl}/v1`, maxRetries: 0 });

  it("refuses past a user's limit with an OpenAI 429 the SDK raises, and every answer carries the caller's own headers", async () => {
    const { url } = await hub({ strategy: 'fixed-window', user: { requests: '3/hour' } });
    const ann = await client(url, 'ann');
    const first = await ann.chat.completions.create({ model: 'gpt-4o-mini', messages: [] }).withResponse();
    expect(first.response.headers.get('x-ratelimit-limit-requests')).toBe('3');
    expect(first.response.headers.get('x-ratelimit-remaining-requests')).toBe('2');
    await ann.chat.completions.create({ model: 'gpt-4o-mini', messages: [] });
    await ann.chat.completions.create({ model: 'gpt-4o-mini', messages: [] });
    const error = (await ann.chat.completions.create({ model: 'gpt-4o-mini', messages: [] }).catch((err: unknown) => err)) as InstanceType<typeof OpenAI.APIError>;
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
    const error = (await limited.chat.completions.create({ model: 'gpt-4o-mini', messages: [] }).catch((err: unknown) => err)) as InstanceType<typeof OpenAI.APIError>;
    expect(error.status).toBe(429);
    const badClaim = await client(url, 'dora', { limits: { requests: 'lots' } });
    const invalid = (await badClaim.models.list().catch((err: unknown) => err)) as InstanceType<typeof OpenAI.APIError>;
    expect(invalid.status).toBe(401);
  });

  it('refuses a request whose reservation would not fit the token limit, before calling upstream', async () => {
    const { url } = await hub({ user: { tokens: '500/day' } });
    const ann = await client(url, 'ann');
    const error = (await ann.chat.completions.create({ model: 'gpt-4o-mini', max_tokens: 1000, messages: [{ role: 'user', content: 'hi' }] }).catch((err: unknown) => err)) as InstanceType<typeof OpenAI.APIError>;
    expect(error.status).toBe(429);
    expect(error.code).toBe('tokens_limit_exceeded');
    expect(mock.received).toHaveLength(0);
    const ok = await ann.chat.completions.create({ model: 'gpt-4o-mini', max_tokens: 100, messages: [{ role: 'user', content: 'hi' }] }).withResponse();
    expect(Number(ok.response.headers.get('x-ratelimit-remaining-tokens'))).toBeLessThan(500);
  });

  for (const store of ['memory', 'sqlite'] as const) {
    async function monthlyHub(limits: Record<string, unknown>) {
      const dir = await mkdtemp(path.join(os.tmpdir(), 'aifd-monthly-'));
      onTestFinished(() => rm(dir, { recursive: true, force: true }));
      const storeUrl = store === 'sqlite' ? `sqlite://${path.join(dir, 'state.sqlite')}` : 'memory://';
      running = await startHub(
        { store: storeUrl, upstreams: [{ name: 'openai', baseUrl: mock.url, keys: ['sk-limits-pool-key-00000000000000'] }], auth: { jwt: { secret: SECRET } }, limits },
        { store: await openStore(storeUrl) },
      );
      return running;
    }
    const statusOf = (call: Promise<unknown>) => call.then(() => 200, (err: InstanceType<typeof OpenAI.APIError>) => `${err.status} ${err.code}`);

    it(`counts a per-month request limit with the real clock (${store} store)`, async () => {
      const { url } = await monthlyHub({ user: { requests: '3/month' } });
      const ann = await client(url, 'ann');
      const statuses: unknown[] = [];
      for (let i = 0; i < 6; i++) statuses.push(await statusOf(ann.chat.completions.create({ model: 'gpt-4o-mini', messages: [] })));
      expect(statuses).toEqual([200, 200, 200, '429 rate_limit_exceeded', '429 rate_limit_exceeded', '429 rate_limit_exceeded']);
    });

    it(`refuses once a monthly budget is spent, with the real clock (${store} store)`, async () => {
      // gpt-4o-mini at list price: each of these requests costs a few millionths of a dollar.
      const { url } = await monthlyHub({ budgets: { users: { cara: { monthly: 0.00002 } } } });
      const cara = await client(url, 'cara');
      const statuses: unknown[] = [];
      for (let i = 0; i < 20; i++) statuses.push(await statusOf(cara.chat.completions.create({ model: 'gpt-4o-mini', max_tokens: 5, messages: [{ role: 'user', content: 'hi' }] })));
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
      const error = (await ann.chat.completions.create({ model, messages: [{ role: 'user', content: 'hi' }] }).catch((err: unknown) => err)) as InstanceType<typeof OpenAI.APIError>;
      expect(error).toBeInstanceOf(OpenAI.PermissionDeniedError);
      expect(error.code).toBe('model_not_priced');
      expect(error.message).toContain(`"${model}" has no price`);
    }
    const priced = (await ann.chat.completions.create({ model: 'gpt-3.5-turbo', messages: [{ role: 'user', content: 'hi' }] }).catch((err: unknown) => err)) as InstanceType<typeof OpenAI.APIError>;
    expect(priced.code).toBe('budget_exceeded');
    expect(mock.received).toHaveLength(0);
  });

  it('lets a model without a price through with budgets.unpriced: allow', async () => {
    const { url } = await hub({ budgets: { unpriced: 'allow', users: { '*': { daily: 0.0000001 } } } });
    const ann = await client(url, 'ann');
    for (let i = 0; i < 3; i++) await ann.chat.completions.create({ model: 'gpt-4-32k', messages: [{ role: 'user', content: 'hi' }] });
    expect(mock.received).toHaveLength(3);
  });

  it('counts routesPerUser for each user, routes for all together', async () => {
    const { url } = await hub({ strategy: 'fixed-window', routesPerUser: { '/v1/chat/completions': '2/hour' }, routes: { '/v1/embeddings': '2/hour' } });
    const [alice, bob] = [await client(url, 'alice'), await client(url, 'bob')];
    const chat = (who: OpenAI) => who.chat.completions.create({ model: 'gpt-4o-mini', messages: [] }).then(() => 200, (err: InstanceType<typeof OpenAI.APIError>) => err.status);
    const embed = (who: OpenAI) => who.embeddings.create({ model: 'text-embedding-3-small', input: 'x' }).then(() => 200, (err: InstanceType<typeof OpenAI.APIError>) => err.status);
    expect([await chat(alice), await chat(alice), await chat(alice), await chat(bob), await chat(bob), await chat(bob)]).toEqual([200, 200, 429, 200, 200, 429]);
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
    for (let i = 0; i < 3; i++) expect((await request(`${url}/v1/models`, { headers: { authorization: 'Bearer guess-' + i } })).status).toBe(401);
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
