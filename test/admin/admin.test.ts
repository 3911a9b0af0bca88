import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import OpenAI from 'openai';
import http from 'node:http';
// @ts-expect-error: the parser ships no types
import parsePrometheusTextFormat from 'parse-prometheus-text-format';
import { startMockUpstream, type MockUpstream } from '../mock-upstream/mock-upstream.js';
import { startAdmin, startHub, type RunningAdmin, type RunningHub } from '../helpers/hub.js';
import { request } from '../helpers/http.js';
import { createAdminServer } from '../../src/admin/admin-server.js';
import { hubAdminSource } from '../../src/admin/admin-source.js';

const TOKEN = 'admin-test-token-0123456789abcdef';

interface Family {
  name: string;
  metrics: { labels?: Record<string, string>; value?: string; count?: string }[];
}

describe('admin listener', () => {
  let mock: MockUpstream;
  let running: RunningHub;
  let admin: RunningAdmin;
  let adminUrl: string;

  beforeAll(async () => {
    mock = await startMockUpstream();
    running = await startHub({
      upstreams: [
        {
          name: 'openai',
          baseUrl: mock.url,
          keys: ['sk-admin-test-key-a-0000000000', 'sk-admin-test-key-b-0000000000'],
        },
      ],
      auth: { forwardKeys: [{ key: 'ann-admin-key-000000', user: 'ann', roles: [] }] },
      limits: { user: { requests: '4/hour' } },
    });
    admin = await startAdmin(running.hub, TOKEN);
    adminUrl = admin.url;
  });
  afterAll(async () => {
    await admin.close();
    await running.close();
    await mock.close();
  });

  const get = (path: string, token?: string) =>
    request(`${adminUrl}${path}`, { headers: token ? { authorization: `Bearer ${token}` } : {} });

  it('refuses a missing or wrong token, and a public address without one', async () => {
    expect((await get('/state')).status).toBe(401);
    expect((await get('/state', 'wrong')).status).toBe(401);
    expect((await get('/metrics', TOKEN.slice(0, -1))).status).toBe(401);
    expect((await get('/state', TOKEN)).status).toBe(200);
    expect((await get('/healthz')).status).toBe(200);
    expect((await request(`${adminUrl}/reload`, { method: 'POST' })).status).toBe(401);
    // Started from no file: there is nothing to reread, and the running config stays.
    const reload = await request(`${adminUrl}/reload`, {
      method: 'POST',
      headers: { authorization: `Bearer ${TOKEN}` },
    });
    expect(reload.status).toBe(422);
    expect(reload.body.toString()).toContain('not started from a config file');
    expect(() =>
      createAdminServer(hubAdminSource(running.hub), { host: '0.0.0.0', port: 0, token: undefined, version: 'test' }),
    ).toThrow(/without admin.token/);
  });

  it('counts known traffic in Prometheus metrics', async () => {
    const client = new OpenAI({ apiKey: 'ann-admin-key-000000', baseURL: running.baseURL(), maxRetries: 0 });
    for (let i = 0; i < 3; i++) await client.chat.completions.create({ model: 'gpt-4o-mini', messages: [] });
    await client.embeddings.create({ model: 'text-embedding-3-small', input: 'x' });
    await client.chat.completions.create({ model: 'gpt-4o-mini', messages: [] }).catch(() => undefined); // the 5th: over the limit
    const res = await get('/metrics', TOKEN);
    expect(res.headers['content-type']).toContain('text/plain');
    const families = parsePrometheusTextFormat(res.text) as Family[];
    const family = (name: string) => families.find((f) => f.name === name)!;
    const requests = family('aifd_requests_total').metrics;
    const count = (status: string, model?: string) =>
      requests
        .filter((m) => m.labels!.status === status && (!model || m.labels!.model === model))
        .reduce((sum, m) => sum + Number(m.value), 0);
    expect(count('200', 'gpt-4o-mini-2024-07-18')).toBe(3);
    expect(count('200')).toBe(4);
    expect(count('429')).toBe(1);
    expect(family('aifd_refusals_total').metrics.find((m) => m.labels!.code === 'rate_limit_exceeded')!.value).toBe(
      '1',
    );
    const prompt = family('aifd_tokens_total')
      .metrics.filter((m) => m.labels!.kind === 'prompt')
      .reduce((sum, m) => sum + Number(m.value), 0);
    expect(prompt).toBeGreaterThan(0);
    expect(family('aifd_key_in_flight').metrics).toHaveLength(2);
    expect(family('aifd_request_duration_seconds').metrics.length).toBeGreaterThan(0);
    expect(family('aifd_queue_length').metrics[0]!.value).toBe('0');
    expect(families.some((f) => f.name === 'aifd_process_cpu_seconds_total')).toBe(true);
  });

  it("gives each key's tokens per minute by the totals' definition: the keys add up to the total", async () => {
    const state = (await get('/state', TOKEN)).json();
    const keys = state.keys as { tokensPerMinute: number }[];
    expect(keys).toHaveLength(2);
    expect(state.totals.tokensPerMinute).toBeGreaterThan(0);
    expect(keys.reduce((sum, key) => sum + key.tokensPerMinute, 0)).toBe(state.totals.tokensPerMinute);
    expect(keys.every((key) => key.tokensPerMinute > 0)).toBe(true);
  });

  it('puts users nearest their own limits first in the state', async () => {
    const state = (await get('/state', TOKEN)).json();
    expect(state.totals.users[0]).toMatchObject({ user: 'ann', nearest: { limit: 'user ann requests', share: 1 } });
  });

  it('streams state snapshots as SSE, with totals and keys', async () => {
    const snapshots = await new Promise<unknown[]>((resolve, reject) => {
      const seen: unknown[] = [];
      const req = http.get(
        `${adminUrl}/events?intervalMs=100`,
        { headers: { authorization: `Bearer ${TOKEN}` } },
        (res) => {
          let buffer = '';
          res.on('data', (chunk: Buffer) => {
            buffer += chunk.toString();
            const events = buffer.split('\n\n');
            buffer = events.pop()!;
            for (const event of events) seen.push(JSON.parse(event.replace(/^data: /, '')));
            if (seen.length >= 2) {
              req.destroy();
              resolve(seen);
            }
          });
        },
      );
      req.on('error', (err) => (seen.length >= 2 ? undefined : reject(err)));
    });
    expect(snapshots[1]).toMatchObject({
      keys: expect.any(Array),
      totals: { requestsPerSecond: expect.any(Number), users: expect.any(Array) },
    });
  });
});
