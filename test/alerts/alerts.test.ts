import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { useMockUpstream } from '../helpers/mock.js';
import OpenAI from 'openai';
import http from 'node:http';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { startHub, type RunningHub } from '../helpers/hub.js';

/** A local webhook receiver that keeps every body it gets. */
async function receiver() {
  const bodies: Record<string, any>[] = [];
  const server = http.createServer((req, res) => {
    let text = '';
    req.on('data', (chunk: Buffer) => (text += chunk.toString()));
    req.on('end', () => {
      bodies.push(JSON.parse(text));
      res.end('ok');
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`,
    bodies,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

describe('alerts', () => {
  const mock = useMockUpstream();
  let hook: Awaited<ReturnType<typeof receiver>>;
  let running: RunningHub | undefined;
  beforeEach(async () => {
    hook = await receiver();
  });
  afterEach(async () => {
    await running?.hub.alerts?.settled();
    await running?.close();
    running = undefined;
    await hook.close();
  });

  it('sends one message per incident: a revoked key, a key out of quota, a failing upstream', async () => {
    running = await startHub({
      upstreams: [
        {
          name: 'openai',
          baseUrl: mock.url,
          keys: ['sk-alert-revoked-aaaa', 'sk-alert-broke-bbbb', 'sk-alert-good-cccc'],
          retries: 2,
        },
      ],
      auth: { anonymous: true },
      alerts: { webhook: hook.url },
    });
    mock.options.validKeys = new Set(['sk-alert-broke-bbbb', 'sk-alert-good-cccc']);
    mock.always('sk-alert-broke-bbbb', { type: 'error', error: 'insufficient_quota' });
    const client = new OpenAI({ apiKey: 'anyone', baseURL: running.baseURL(), maxRetries: 0 });
    for (let i = 0; i < 6; i++) await client.chat.completions.create({ model: 'gpt-4o-mini', messages: [] });
    await running!.hub.alerts!.settled();
    const events = hook.bodies.map((body) => body.event).sort();
    expect(events).toEqual(['key_over_quota', 'key_revoked']);
    const revoked = hook.bodies.find((body) => body.event === 'key_revoked')!;
    expect(revoked).toMatchObject({ source: 'aifd', details: { upstream: 'openai' } });
    expect(JSON.stringify(hook.bodies)).not.toContain('sk-alert-revoked-aaaa');

    hook.bodies.length = 0;
    mock.always('sk-alert-good-cccc', { type: 'error', error: 'server_error' });
    const pool = running.hub.upstreams[0]!.pool;
    // three failures in a row on the last good key: the upstream keeps failing (once)
    for (let i = 0; i < 3; i++) {
      const lease = pool.acquire(undefined, new Set())!;
      pool.release(lease, { verdict: 'server_error' });
      pool.restore(lease.key.hash, { until: 0 });
    }
    await running!.hub.alerts!.settled();
    expect(hook.bodies.map((body) => body.event)).toEqual(['upstream_failing']);
  });

  it('speaks Slack, Feishu and Matrix, and warns once when a budget passes its soft share', async () => {
    for (const [format, shape] of [
      ['slack', { text: expect.stringContaining('aifd:') }],
      ['feishu', { msg_type: 'text', content: { text: expect.stringContaining('budget') } }],
      ['matrix', { msgtype: 'm.text', body: expect.stringContaining('spent') }],
    ] as const) {
      running = await startHub({
        upstreams: [{ name: 'openai', baseUrl: mock.url, keys: ['sk-alert-budget-dddd'] }],
        auth: { forwardKeys: [{ key: 'ann-alert-key-0000000', user: 'ann', roles: [] }] },
        limits: { budgets: { users: { '*': { daily: 0.0002, soft: 0.5 } } } },
        prices: { 'gpt-4o-mini*': { input: 1, output: 1 } },
        alerts: { webhook: hook.url, format },
      });
      const client = new OpenAI({ apiKey: 'ann-alert-key-0000000', baseURL: running.baseURL(), maxRetries: 0 });
      for (let i = 0; i < 6; i++)
        await client.chat.completions
          .create({ model: 'gpt-4o-mini', max_tokens: 50, messages: [{ role: 'user', content: 'hi' }] })
          .catch(() => undefined);
      await running!.hub.alerts!.settled();
      expect(hook.bodies, format).toHaveLength(1);
      expect(hook.bodies[0]).toMatchObject(shape);
      await running.close();
      running = undefined;
      hook.bodies.length = 0;
    }
  });
});
