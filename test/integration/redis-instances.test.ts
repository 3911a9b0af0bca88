/**
 * Several aifd instances on one Redis store (the machine's real Redis, a key prefix per run)
 * acting as one gateway: limits counted together, key status, token revocations and the response
 * cache shared.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import OpenAI from 'openai';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { useMockUpstream } from '../helpers/mock.js';
import { deleteRedisKeys } from '../helpers/redis-server.js';
import { startHub, type RunningHub } from '../helpers/hub.js';
import { openStore, type Store } from '../../src/store/open-store.js';
import type { HubConfigInput } from '../../src/config/schema.js';
import { signToken } from '../../src/auth/tokens.js';
import type { KeyPool } from '../../src/keys/pool.js';

const REDIS_URL = 'redis://127.0.0.1:6379';
const PREFIX = `aifd-test-${randomBytes(4).toString('hex')}:`;
const SECRET = 'a-shared-hs256-secret-for-two-instances-000';
const KEY_1 = 'sk-instances-key-one-1111111111111111111';
const KEY_2 = 'sk-instances-key-two-2222222222222222222';

describe('two instances on one Redis', () => {
  const mock = useMockUpstream();
  const hubs: RunningHub[] = [];
  const stores: Store[] = [];
  const user = `user-${randomBytes(4).toString('hex')}`;
  const forwardKey = `${user}-key-000000`;

  beforeAll(async () => {
    const config: Partial<HubConfigInput> & Pick<HubConfigInput, 'upstreams'> = {
      store: REDIS_URL,
      storePrefix: PREFIX,
      upstreams: [{ name: 'openai', baseUrl: mock.url, keys: [KEY_1, KEY_2], retries: 2 }],
      auth: { forwardKeys: [{ key: forwardKey, user, roles: [] }], jwt: { secret: SECRET } },
      limits: { strategy: 'fixed-window', user: { requests: '10/hour' } },
    };
    for (let i = 0; i < 2; i++) {
      const store = await openStore(REDIS_URL, { prefix: PREFIX });
      stores.push(store);
      hubs.push(await startHub(config, { store }));
    }
  });
  afterAll(async () => {
    await Promise.all(hubs.map((hub) => hub.close()));
    await Promise.all(stores.map((store) => store.close()));
    await deleteRedisKeys(PREFIX, REDIS_URL);
  });

  const sdk = (hub: RunningHub, apiKey = forwardKey) => new OpenAI({ apiKey, baseURL: hub.baseURL(), maxRetries: 0 });

  it('enforce one user limit exactly under parallel load on both', async () => {
    const clients = hubs.map((hub) => sdk(hub));
    const results = await Promise.allSettled(
      Array.from({ length: 30 }, (_, i) =>
        clients[i % 2]!.chat.completions.create({ model: 'gpt-4o-mini', messages: [] }),
      ),
    );
    expect(results.filter((result) => result.status === 'fulfilled')).toHaveLength(10);
    expect(mock.received).toHaveLength(10);
  });

  it('take a key another instance found revoked out of their pool within a second', async () => {
    const [first, second] = hubs as [RunningHub, RunningHub];
    const poolOf = (hub: RunningHub): KeyPool => hub.hub.upstreams[0]!.pool;
    const hash1 = poolOf(first).keys.find((key) => key.secret === KEY_1)!.hash;
    const adopted = new Promise<number>((resolve) => {
      poolOf(second).on('status', (key: { hash: string }, _state: unknown, origin?: string) => {
        if (key.hash === hash1 && origin === 'remote') resolve(performance.now());
      });
    });
    mock.options.validKeys = new Set([KEY_2]);
    // The first instance tries KEY_1 once (401), revokes it and answers from KEY_2.
    const jwt = await signToken(
      {
        secret: SECRET,
        algorithm: 'HS256',
        issuer: 'aifd',
        audience: 'aifd',
        clockTolerance: 30_000,
        defaultExpires: '1d',
      },
      { user: 'other', roles: [], models: [], paths: [], expiresInSec: 3600 },
    );
    while (poolOf(first).state(hash1).status !== 'revoked')
      await sdk(first, jwt.token).chat.completions.create({ model: 'gpt-4o-mini', messages: [] });
    const revokedAt = performance.now();
    const seenAt = await adopted;
    expect(seenAt - revokedAt).toBeLessThan(1000);
    expect(poolOf(second).state(hash1).status).toBe('revoked');
    mock.reset();
    mock.options.validKeys = new Set([KEY_2]);
    await Promise.all(
      Array.from({ length: 6 }, () =>
        sdk(second, jwt.token).chat.completions.create({ model: 'gpt-4o-mini', messages: [] }),
      ),
    );
    expect(mock.received.map((request) => request.key)).toEqual(Array(6).fill(KEY_2));
    mock.reset();
  });

  it('refuse on one a token revoked on the other', async () => {
    const [first, second] = hubs as [RunningHub, RunningHub];
    const jwtConfig = {
      secret: SECRET,
      algorithm: 'HS256' as const,
      issuer: 'aifd',
      audience: 'aifd',
      clockTolerance: 30_000,
      defaultExpires: '1d',
    };
    const signed = await signToken(jwtConfig, { user: 'carol', roles: [], models: [], paths: [], expiresInSec: 3600 });
    expect(
      (await sdk(second, signed.token).chat.completions.create({ model: 'gpt-4o-mini', messages: [] })).object,
    ).toBe('chat.completion');
    const updated = once(second.hub.revocations!, 'updated');
    await first.hub.revocations!.revokeToken(signed.jti, signed.exp ?? undefined);
    await updated;
    const refused = await sdk(second, signed.token)
      .chat.completions.create({ model: 'gpt-4o-mini', messages: [] })
      .catch((err: unknown) => err);
    expect(refused).toBeInstanceOf(OpenAI.AuthenticationError);
    expect((refused as InstanceType<typeof OpenAI.AuthenticationError>).code).toBe('token_revoked');
    mock.reset();
  });

  it('serve from the cache on one what the other stored', async () => {
    const [first, second] = hubs as [RunningHub, RunningHub];
    const jwt = await signToken(
      {
        secret: SECRET,
        algorithm: 'HS256',
        issuer: 'aifd',
        audience: 'aifd',
        clockTolerance: 30_000,
        defaultExpires: '1d',
      },
      { user: 'dave', roles: [], models: [], paths: [], expiresInSec: 3600 },
    );
    const body = {
      model: 'gpt-4o-mini',
      messages: [{ role: 'user' as const, content: `cache across instances ${PREFIX}` }],
    };
    const stored = await sdk(first, jwt.token)
      .chat.completions.create(body, { headers: { 'x-aifd-cache': 'on' } })
      .withResponse();
    expect(stored.response.headers.get('x-aifd-cache')).toBe('miss');
    const hit = await sdk(second, jwt.token)
      .chat.completions.create(body, { headers: { 'x-aifd-cache': 'on' } })
      .withResponse();
    expect(hit.response.headers.get('x-aifd-cache')).toBe('hit');
    expect(hit.data.choices[0]!.message.content).toBe(stored.data.choices[0]!.message.content);
    expect(mock.received).toHaveLength(1);
    mock.reset();
  });

  it('coalesce identical misses across instances: one upstream call while the first is in flight', async () => {
    const [first, second] = hubs as [RunningHub, RunningHub];
    const jwt = await signToken(
      {
        secret: SECRET,
        algorithm: 'HS256',
        issuer: 'aifd',
        audience: 'aifd',
        clockTolerance: 30_000,
        defaultExpires: '1d',
      },
      { user: 'erin', roles: [], models: [], paths: [], expiresInSec: 3600 },
    );
    mock.options.chunkDelayMs = 40;
    const body = {
      model: 'gpt-4o-mini',
      messages: [{ role: 'user' as const, content: `coalesce across instances ${PREFIX}` }],
      stream: true as const,
    };
    const read = async (hub: RunningHub) => {
      const { data, response } = await sdk(hub, jwt.token)
        .chat.completions.create(body, { headers: { 'x-aifd-cache': 'on' } })
        .withResponse();
      let text = '';
      for await (const chunk of data) text += chunk.choices[0]?.delta.content ?? '';
      return { text, cache: response.headers.get('x-aifd-cache') };
    };
    const leading = read(first);
    // The second asks once the first is at the upstream (its claim is made by then).
    await mock.waitForRequest();
    const [a, b] = await Promise.all([leading, read(second)]);
    expect(mock.received).toHaveLength(1);
    expect(b.text).toBe(a.text);
    expect(a.text.length).toBeGreaterThan(0);
    expect([a.cache, b.cache]).toEqual(['miss', 'hit']);
    mock.reset();
  });
});
