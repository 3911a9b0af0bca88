/**
 * Hot reload over real sockets: a config file changes under a running gateway, and POST /reload
 * applies it without dropping what is in flight.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { useMockUpstream } from '../helpers/mock.js';
import OpenAI from 'openai';
import { mkdtemp, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { startAdmin, type RunningAdmin } from '../helpers/hub.js';
import { loadConfig } from '../../src/config/load.js';
import { createHub, type Hub } from '../../src/proxy/hub.js';
import { silentDiagnostics } from '../../src/logs/diagnostics.js';
import { openStore } from '../../src/store/open-store.js';

const KEY_A = 'sk-reload-a-111111111111111111111111';
const KEY_B = 'sk-reload-b-222222222222222222222222';
const ANN = 'fk-reload-ann-00000000000000';
const BOB = 'fk-reload-bob-00000000000000';
const ADMIN_TOKEN = 'reload-admin-token-000000000000';

describe('hot reload', () => {
  const mock = useMockUpstream();
  let dir: string;
  let file: string;
  let hub: Hub;
  let admin: RunningAdmin;
  let url: string;

  beforeEach(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'aifd-reload-'));
    file = path.join(dir, 'hub.config.json');
  });
  afterEach(async () => {
    await admin?.close();
    await hub?.close(1000);
  });

  function configWith(extra: { keys?: string[]; acl?: unknown; forwardKeys?: unknown[]; limits?: unknown } = {}) {
    return {
      store: 'memory://',
      listen: { host: '127.0.0.1', port: 0 },
      logs: { dir: path.join(dir, 'logs') },
      upstreams: [{ name: 'openai', baseUrl: mock.url, keys: extra.keys ?? [KEY_A] }],
      auth: {
        forwardKeys: extra.forwardKeys ?? [
          { key: ANN, user: 'ann', roles: ['dev'] },
          { key: BOB, user: 'bob', roles: ['dev'] },
        ],
      },
      ...(extra.acl ? { acl: extra.acl } : {}),
      ...(extra.limits ? { limits: extra.limits } : {}),
    };
  }

  async function start(initial: object) {
    await writeFile(file, JSON.stringify(initial));
    const { config } = await loadConfig({ configPath: file });
    hub = createHub(config, {
      log: silentDiagnostics,
      store: await openStore('memory://'),
      loadConfig: async () => (await loadConfig({ configPath: file })).config,
    });
    const address = await hub.listen();
    url = `http://127.0.0.1:${address.port}`;
    admin = await startAdmin(hub, ADMIN_TOKEN);
  }

  const client = (key: string) => new OpenAI({ apiKey: key, baseURL: `${url}/v1`, maxRetries: 0 });

  async function reloadWith(next: object): Promise<Response> {
    await writeFile(file, JSON.stringify(next));
    return fetch(`${admin.url}/reload`, { method: 'POST', headers: { authorization: `Bearer ${ADMIN_TOKEN}` } });
  }

  it('lets a slow stream finish and applies the new ACL to the next request', async () => {
    await start(configWith());
    mock.options.chunkDelayMs = 30;
    mock.options.streamChunks = 10;
    const stream = await client(BOB).chat.completions.create({
      model: 'gpt-4o',
      messages: [{ role: 'user', content: 'hi' }],
      stream: true,
    });
    const chunks: string[] = [];
    const reading = (async () => {
      for await (const chunk of stream) chunks.push(chunk.choices[0]?.delta.content ?? '');
    })();
    // The stream is under way when the new ACL arrives: bob may no longer use gpt-4o.
    await mock.waitForRequest();
    const response = await reloadWith(
      configWith({ acl: { default: 'allow', rules: [{ users: ['bob'], models: ['gpt-4o'], effect: 'deny' }] } }),
    );
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ reloaded: true, needRestart: [] });
    await reading;
    expect(chunks.join('').length).toBeGreaterThan(0);
    expect(mock.received[0]!.finished).toBe(true);
    expect(mock.received[0]!.aborted).toBe(false);
    expect(hub.inFlight()).toBe(0);
    const refused = await client(BOB)
      .chat.completions.create({ model: 'gpt-4o', messages: [] })
      .catch((err: unknown) => err);
    expect(refused).toBeInstanceOf(OpenAI.PermissionDeniedError);
    const ann = await client(ANN).chat.completions.create({ model: 'gpt-4o', messages: [] });
    expect(ann.object).toBe('chat.completion');
  });

  it('refuses an invalid config and keeps running the old one', async () => {
    await start(configWith());
    const response = await reloadWith({ ...configWith(), upstreams: [{ name: 'openai', baseUrl: 'not a url' }] });
    expect(response.status).toBe(422);
    const body = (await response.json()) as { error: { message: string } };
    expect(body.error.message).toMatch(/upstreams\[0\]\.baseUrl/);
    const broken = await fetch(`${admin.url}/reload`, {
      method: 'POST',
      headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
    });
    expect(broken.status).toBe(422);
    await writeFile(file, '{ "upstreams": [');
    const unparsable = await fetch(`${admin.url}/reload`, {
      method: 'POST',
      headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
    });
    expect(unparsable.status).toBe(422);
    const answer = await client(ANN).chat.completions.create({ model: 'gpt-4o-mini', messages: [] });
    expect(answer.object).toBe('chat.completion');
    expect(mock.received.at(-1)!.key).toBe(KEY_A);
  });

  it('swaps pool keys and users, keeping the state of keys that stay', async () => {
    await start(configWith({ keys: [KEY_A] }));
    mock.script(KEY_A, { type: 'error', error: 'rate_limit_requests', headers: { 'retry-after': '120' } });
    await client(ANN)
      .chat.completions.create({ model: 'gpt-4o-mini', messages: [] })
      .catch(() => undefined);
    const poolBefore = hub.upstreams[0]!.pool;
    const hashA = poolBefore.keys[0]!.hash;
    expect(poolBefore.state(hashA).status).toBe('cooling');

    const response = await reloadWith(
      configWith({ keys: [KEY_A, KEY_B], forwardKeys: [{ key: BOB, user: 'bob', roles: [] }] }),
    );
    expect(response.status).toBe(200);
    const pool = hub.upstreams[0]!.pool;
    expect(pool).not.toBe(poolBefore);
    expect(pool.state(hashA).status).toBe('cooling');
    const answer = await client(BOB).chat.completions.create({ model: 'gpt-4o-mini', messages: [] });
    expect(answer.object).toBe('chat.completion');
    expect(mock.received.at(-1)!.key).toBe(KEY_B);
    const gone = await client(ANN)
      .chat.completions.create({ model: 'gpt-4o-mini', messages: [] })
      .catch((err: unknown) => err);
    expect(gone).toBeInstanceOf(OpenAI.AuthenticationError);
  });

  it('applies new limits, and says which sections need a restart', async () => {
    await start(configWith());
    const response = await reloadWith({
      ...configWith({ limits: { user: { requests: '1/hour' } } }),
      listen: { host: '127.0.0.1', port: 1 },
    });
    expect(await response.json()).toEqual({ reloaded: true, needRestart: ['listen'] });
    await client(ANN).chat.completions.create({ model: 'gpt-4o-mini', messages: [] });
    const limited = await client(ANN)
      .chat.completions.create({ model: 'gpt-4o-mini', messages: [] })
      .catch((err: unknown) => err);
    expect(limited).toBeInstanceOf(OpenAI.RateLimitError);
    expect(hub.config.listen.port).toBe(0);
  });
});
