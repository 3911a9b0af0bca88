import { hsToken as mintToken } from '../helpers/tokens.js';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import OpenAI, { toFile } from 'openai';
import * as jose from 'jose';
import { generateKeyPairSync } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { once } from 'node:events';
import os from 'node:os';
import path from 'node:path';
import { startMockUpstream, type MockUpstream } from '../mock-upstream/mock-upstream.js';
import { fixtureJson } from '../mock-upstream/fixtures.js';
import { startHub, type RunningHub } from '../helpers/hub.js';
import { request } from '../helpers/http.js';
import { runCli } from '../helpers/cli.js';
import { openStore, type Store } from '../../src/store/open-store.js';
import type { HubConfigInput } from '../../src/config/schema.js';

const SECRET = 'an-hs256-secret-that-is-long-enough-0123456789';
const POOL_KEY = 'sk-pool-auth-test-eeeeeeeeeeeeeeeeeeee';
const TEAM_KEY = 'team-forward-key-ffffffffffffffffffff';

const ACL: HubConfigInput['acl'] = {
  default: 'deny',
  rules: [
    {
      roles: ['dev'],
      paths: ['/v1/chat/completions', '/v1/embeddings', '/v1/models', '/v1/models/*', '/v1/audio/transcriptions'],
      models: ['gpt-4o-mini', 'text-embedding-*', 'whisper-1'],
      effect: 'allow',
    },
    { users: ['admin'], paths: ['*'], models: ['*'], effect: 'allow' },
  ],
};

const encoder = new TextEncoder();
function hsToken(
  claims: jose.JWTPayload,
  options: { secret?: string; iss?: string; aud?: string; exp?: number | string; nbf?: number | string } = {},
) {
  return mintToken({ roles: ['dev'], ...claims }, { ...options, secret: options.secret ?? SECRET });
}

function b64(value: unknown): string {
  return Buffer.from(JSON.stringify(value)).toString('base64url');
}

describe('authentication and ACL', () => {
  let mock: MockUpstream;
  let running: RunningHub;
  let dir: string;
  let store: Store;

  beforeAll(async () => {
    mock = await startMockUpstream();
    dir = await mkdtemp(path.join(os.tmpdir(), 'aifd-auth-'));
    store = await openStore(`sqlite://${dir}/state.sqlite`);
    running = await startHub(
      {
        upstreams: [{ name: 'openai', baseUrl: mock.url, keys: [POOL_KEY] }],
        auth: {
          jwt: { secret: SECRET },
          forwardKeys: [{ key: TEAM_KEY, user: 'team-a', roles: ['dev'] }],
          users: { 'team-a': { network: { allow: ['127.0.0.0/8'] } } },
        },
        acl: ACL,
        store: `sqlite://${dir}/state.sqlite`,
      },
      { store },
    );
  });
  afterAll(async () => {
    await running.close();
    await store.close();
    await mock.close();
    await rm(dir, { recursive: true, force: true });
  });
  afterEach(() => mock.reset());

  const sdk = (apiKey: string) => new OpenAI({ apiKey, baseURL: running.baseURL(), maxRetries: 0 });
  async function status(
    apiKey: string,
    body = { model: 'gpt-4o-mini', messages: [] },
  ): Promise<{ status: number; code: string | null }> {
    const error = (await sdk(apiKey)
      .chat.completions.create(body as never)
      .catch((err: unknown) => err)) as InstanceType<typeof OpenAI.APIError>;
    if (!(error instanceof OpenAI.APIError)) return { status: 200, code: null };
    return { status: error.status!, code: error.code ?? null };
  }

  it('accepts a token from `aifd token-gen` through the SDK, and the upstream never sees it', async () => {
    await writeFile(
      path.join(dir, 'hub.config.json'),
      JSON.stringify({
        upstreams: [{ name: 'o', baseUrl: mock.url, keys: [] }],
        auth: { jwt: { secret: '${SECRET}' } },
      }),
    );
    const generated = await runCli(['token-gen', '--user', 'ann', '--role', 'dev', '--expires', '1h', '--json'], {
      cwd: dir,
      env: { SECRET },
    });
    expect(generated.code).toBe(0);
    const { token, jti, exp } = JSON.parse(generated.stdout);
    expect(jti).toMatch(/^[0-9a-f-]{36}$/);
    expect(exp).toBeGreaterThan(Date.now() / 1000 + 3500);
    const answer = await sdk(token).chat.completions.create({
      model: 'gpt-4o-mini',
      messages: [{ role: 'user', content: 'hi' }],
    });
    expect(answer.object).toBe('chat.completion');
    const received = await mock.waitForRequest();
    expect(received.headers.authorization).toBe(`Bearer ${POOL_KEY}`);
    expect(JSON.stringify(received.headers)).not.toContain(token.slice(20, 60));
  });

  it('refuses every bad token class with its own 401 code, and never calls the upstream', async () => {
    const header = b64({ alg: 'none', typ: 'JWT' });
    const payload = b64({
      sub: 'admin',
      roles: [],
      iss: 'aifd',
      aud: 'aifd',
      exp: Math.floor(Date.now() / 1000) + 3600,
    });
    const cases: [string, string, string][] = [
      ['alg none', `${header}.${payload}.`, 'invalid_token'],
      ['wrong issuer', await hsToken({}, { iss: 'someone-else' }), 'invalid_token'],
      ['wrong audience', await hsToken({}, { aud: 'other' }), 'invalid_token'],
      ['expired', await hsToken({}, { exp: Math.floor(Date.now() / 1000) - 3600 }), 'token_expired'],
      ['not yet valid', await hsToken({}, { nbf: Math.floor(Date.now() / 1000) + 3600 }), 'token_not_yet_valid'],
      ['bad signature', await hsToken({}, { secret: 'another-secret-that-is-also-long-enough-xyz' }), 'bad_signature'],
      ['garbage JWT', 'eyJub3QgYSBoZWFkZXI.e30.c2ln', 'malformed_token'],
      ['unknown key', 'sk-some-random-key-0000000000', 'invalid_api_key'],
    ];
    for (const [name, token, code] of cases) {
      expect(await status(token), name).toEqual({ status: 401, code });
    }
    const empty = await request(`${running.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: 'Bearer ', 'content-type': 'application/json' },
      body: '{}',
    });
    expect(empty.status).toBe(401);
    expect(empty.json().error.code).toBe('missing_credentials');
    const none = await request(`${running.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{}',
    });
    expect(none.json().error.code).toBe('missing_credentials');
    const basic = await request(`${running.url}/v1/models`, { headers: { authorization: 'Basic YTpi' } });
    expect(basic.json().error.code).toBe('invalid_api_key');
    expect(mock.received.length).toBe(0);
  });

  it('accepts the right forward key and refuses a wrong one', async () => {
    expect(await status(TEAM_KEY)).toEqual({ status: 200, code: null });
    expect(await status(TEAM_KEY + 'x')).toEqual({ status: 401, code: 'invalid_api_key' });
    const received = await mock.waitForRequest();
    expect(JSON.stringify(received.headers)).not.toContain(TEAM_KEY);
  });

  it('applies the ACL and token claims over real requests', async () => {
    const dev = await hsToken({ sub: 'ann' });
    expect(await status(dev, { model: 'gpt-4o', messages: [] })).toEqual({ status: 403, code: 'model_not_allowed' });
    const admin = await hsToken({ sub: 'admin', roles: [] });
    expect(await status(admin, { model: 'gpt-4o', messages: [] })).toEqual({ status: 200, code: null });
    const narrowed = await hsToken({ sub: 'admin', roles: [], models: ['gpt-4o-mini'] });
    expect(await status(narrowed, { model: 'gpt-4o', messages: [] })).toEqual({
      status: 403,
      code: 'model_not_allowed',
    });
    const images = (await sdk(dev)
      .images.generate({ model: 'gpt-4o-mini', prompt: 'x' })
      .catch((err: unknown) => err)) as InstanceType<typeof OpenAI.APIError>;
    expect(images.status).toBe(403);
    expect(images.code).toBe('path_not_allowed');
    expect(mock.received.map((r) => JSON.parse(r.body.toString()).model)).toEqual(['gpt-4o']);
  });

  it('lists only the models the caller may use', async () => {
    const all = fixtureJson<{ data: { id: string }[] }>('models.json').data.map((model) => model.id);
    const dev = await sdk(await hsToken({ sub: 'ann' })).models.list();
    const ids = dev.data.map((model) => model.id).sort();
    expect(ids).toEqual(
      all.filter((id) => id === 'gpt-4o-mini' || id.startsWith('text-embedding-') || id === 'whisper-1').sort(),
    );
    expect(ids.length).toBeGreaterThan(1);
    const admin = await sdk(await hsToken({ sub: 'admin', roles: [] })).models.list();
    expect(admin.data.length).toBe(all.length);
  });

  it('refuses every path trick against a rule', async () => {
    const dev = await hsToken({ sub: 'ann' });
    const tricks = [
      '/v1//files',
      '/v1/./files',
      '/v1/x/../files',
      '/v1/%66iles',
      '/v1/files/',
      '/V1/FILES',
      '/v1%2ffiles',
      '/v1/%2e%2e/v1/files',
      '/v1/models/../files',
      '/v1\\files',
    ];
    for (const trick of tricks) {
      const res = await request(`${running.url}${trick}`, { headers: { authorization: `Bearer ${dev}` } });
      expect([400, 403], trick).toContain(res.status);
      expect(res.json().error.code, trick).toMatch(/^(path_not_allowed|invalid_path)$/);
    }
    expect(mock.received.length).toBe(0);
  });

  it('reads the model whatever the JSON media type, and refuses a body it cannot read', async () => {
    const dev = await hsToken({ sub: 'ann' });
    const send = (type: string | undefined, body: string) =>
      request(`${running.url}/v1/chat/completions`, {
        method: 'POST',
        headers: { authorization: `Bearer ${dev}`, ...(type ? { 'content-type': type } : {}) },
        body,
      });
    for (const type of ['application/json; charset=utf-8', 'APPLICATION/JSON', 'text/plain', undefined]) {
      const res = await send(type, '{"model":"gpt-4o","messages":[]}');
      expect(res.status, String(type)).toBe(403);
      expect(res.json().error.code).toBe('model_not_allowed');
    }
    const unreadable = await send('application/octet-stream', '\u0000\u0001model=gpt-4o');
    expect(unreadable.status).toBe(403);
    expect(unreadable.json().error.message).toContain('could not be determined');
    const ok = await send('application/json; charset=utf-8', '{"model":"gpt-4o-mini","messages":[]}');
    expect(ok.status).toBe(200);
    expect(mock.received.length).toBe(1);
  });

  it('reads the model of a multipart upload', async () => {
    const dev = await hsToken({ sub: 'ann' });
    const audio = await toFile(Buffer.from('fake audio bytes'), 'a.mp3');
    const ok = await sdk(dev).audio.transcriptions.create({ model: 'whisper-1', file: audio });
    expect(ok.text).toMatch(/^received/);
    const denied = (await sdk(dev)
      .audio.transcriptions.create({ model: 'gpt-4o-transcribe', file: await toFile(Buffer.from('x'), 'b.mp3') })
      .catch((err: unknown) => err)) as InstanceType<typeof OpenAI.APIError>;
    expect(denied.status).toBe(403);
    expect(denied.code).toBe('model_not_allowed');
    expect(mock.received.length).toBe(1);
  });

  it('refuses a revoked token within a second, on the running daemon', async () => {
    await writeFile(
      path.join(dir, 'hub.config.json'),
      JSON.stringify({
        store: `sqlite://${dir}/state.sqlite`,
        upstreams: [{ name: 'o', baseUrl: mock.url }],
        auth: { jwt: { secret: '${SECRET}' } },
      }),
    );
    const token = await hsToken({ sub: 'ann', jti: 'jti-to-revoke' });
    const other = await hsToken({ sub: 'bob' });
    expect(await status(token)).toEqual({ status: 200, code: null });
    const updated = once(running.hub.revocations!, 'updated');
    const started = performance.now();
    const revoke = await runCli(['token-revoke', 'jti-to-revoke'], { cwd: dir, env: { SECRET } });
    expect(revoke.code).toBe(0);
    await updated;
    expect(performance.now() - started).toBeLessThan(2000);
    expect(await status(token)).toEqual({ status: 401, code: 'token_revoked' });
    expect(await status(other)).toEqual({ status: 200, code: null });

    const byUser = once(running.hub.revocations!, 'updated');
    expect((await runCli(['token-revoke', '--user', 'bob'], { cwd: dir, env: { SECRET } })).code).toBe(0);
    await byUser;
    expect(await status(other)).toEqual({ status: 401, code: 'token_revoked' });
  });
});

describe('asymmetric tokens and network rules', () => {
  let mock: MockUpstream;
  let dir: string;
  const hubs: RunningHub[] = [];

  beforeAll(async () => {
    mock = await startMockUpstream();
    dir = await mkdtemp(path.join(os.tmpdir(), 'aifd-auth2-'));
  });
  afterAll(async () => {
    await Promise.all(hubs.map((hub) => hub.close()));
    await mock.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('verifies EdDSA tokens and refuses an HS256 token signed with the public key', async () => {
    const { publicKey, privateKey } = generateKeyPairSync('ed25519');
    const publicPem = publicKey.export({ type: 'spki', format: 'pem' }).toString();
    await writeFile(path.join(dir, 'public.pem'), publicPem);
    await writeFile(path.join(dir, 'private.pem'), privateKey.export({ type: 'pkcs8', format: 'pem' }).toString());
    await writeFile(
      path.join(dir, 'hub.config.json'),
      JSON.stringify({
        upstreams: [{ name: 'o', baseUrl: mock.url, keys: [POOL_KEY] }],
        auth: { jwt: { algorithm: 'EdDSA', publicKeyFile: 'public.pem', privateKeyFile: 'private.pem' } },
      }),
    );
    const running = await startHub({
      upstreams: [{ name: 'o', baseUrl: mock.url, keys: [POOL_KEY] }],
      auth: { jwt: { algorithm: 'EdDSA', publicKeyFile: path.join(dir, 'public.pem') } },
    });
    hubs.push(running);
    const generated = await runCli(['token-gen', '--user', 'eve', '--json'], { cwd: dir });
    expect(generated.code).toBe(0);
    const client = (key: string) => new OpenAI({ apiKey: key, baseURL: running.baseURL(), maxRetries: 0 });
    const ok = await client(JSON.parse(generated.stdout).token).chat.completions.create({
      model: 'gpt-4o-mini',
      messages: [],
    });
    expect(ok.object).toBe('chat.completion');

    const confused = await new jose.SignJWT({ roles: [] })
      .setProtectedHeader({ alg: 'HS256' })
      .setSubject('eve')
      .setIssuer('aifd')
      .setAudience('aifd')
      .setExpirationTime('1h')
      .sign(encoder.encode(publicPem));
    const error = (await client(confused)
      .chat.completions.create({ model: 'gpt-4o-mini', messages: [] })
      .catch((err: unknown) => err)) as InstanceType<typeof OpenAI.APIError>;
    expect(error.status).toBe(401);
    expect(error.code).toBe('invalid_token');
    expect(mock.received.length).toBe(1);
  });

  it('applies CIDR rules to the real client address; x-forwarded-for counts only through trusted hops', async () => {
    const base = {
      upstreams: [{ name: 'o', baseUrl: mock.url, keys: [POOL_KEY] }],
      auth: {
        forwardKeys: [{ key: TEAM_KEY, user: 'team-a', roles: [] }],
        network: { deny: ['10.0.0.0/8'] },
        users: { 'team-a': { network: { allow: ['127.0.0.1/32', '192.168.0.0/16'] } } },
      },
    };
    const direct = await startHub(base);
    const behindProxy = await startHub({ ...base, listen: { trustProxy: 1 } });
    hubs.push(direct, behindProxy);
    const call = (hub: RunningHub, xff?: string) =>
      request(`${hub.url}/v1/models`, {
        headers: { authorization: `Bearer ${TEAM_KEY}`, ...(xff ? { 'x-forwarded-for': xff } : {}) },
      });
    // without trusted hops a forged header changes nothing
    expect((await call(direct)).status).toBe(200);
    expect((await call(direct, '10.1.2.3')).status).toBe(200);
    expect((await call(direct, '8.8.8.8')).status).toBe(200);
    // behind one trusted proxy, the address it saw counts, and only that one
    expect((await call(behindProxy, '10.1.2.3')).json().error.code).toBe('address_not_allowed');
    expect((await call(behindProxy, '8.8.8.8')).json().error.code).toBe('address_not_allowed');
    expect((await call(behindProxy, '192.168.4.5')).status).toBe(200);
    expect((await call(behindProxy, '10.9.9.9, 192.168.4.5')).status).toBe(200);
  });
});
