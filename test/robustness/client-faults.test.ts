/**
 * Faults from clients: disconnects at every stage, slow and malformed HTTP, idle connections,
 * oversized and ill-typed requests. Nothing crashes, nothing leaks, every request is recorded.
 */
import { describe, expect, it } from 'vitest';
import { useMockUpstream } from '../helpers/mock.js';
import OpenAI from 'openai';
import http from 'node:http';
import net from 'node:net';
import { once } from 'node:events';
import { keyViews, useHub, type RunningHub } from '../helpers/hub.js';
import { rawExchange, request } from '../helpers/http.js';
import type { AccessRecord } from '../../src/logs/access-record.js';

const KEY = 'sk-client-fault-key-000000000000000000';
const USER = 'fk-client-fault-user-00000000';

describe('faults from clients', () => {
  const mock = useMockUpstream();
  const hubs = useHub();
  let running: RunningHub;

  async function start(extra: Record<string, unknown> = {}) {
    running = await hubs.start({
      upstreams: [{ name: 'openai', baseUrl: mock.url, keys: [KEY], queue: { maxWait: '30s' } }],
      auth: { forwardKeys: [{ key: USER, user: 'ann', roles: [] }] },
      listen: { headersTimeout: '500ms', requestTimeout: '1s', maxBodySize: '64kb' } as never,
      limits: { user: { tokens: '1000000/hour' } },
      ...extra,
    });
    return new OpenAI({ apiKey: USER, baseURL: running.baseURL(), maxRetries: 0 });
  }

  const port = () => Number(new URL(running.url).port);

  /** Closes the gateway (waiting for what is still finishing) and returns its access records. */
  async function closeAndRead(): Promise<AccessRecord[]> {
    const { hub } = running;
    const records = await running.closeAndReadAccessLog();
    expect(hub.inFlight()).toBe(0);
    expect(keyViews(running).map((view) => view.inFlight)).toEqual([0]);
    expect(hub.upstreams[0]!.queue.length).toBe(0);
    return records;
  }

  it('a client that leaves while queued for a key leaves the queue; the upstream never hears of it', async () => {
    const client = await start();
    // The only key has nothing left until its reset, 20 s away: the next request must queue.
    mock.setRateLimit(KEY, { remainingRequests: 0, resetRequests: '20s' });
    await client.chat.completions.create({ model: 'gpt-4o-mini', messages: [] });
    const queue = running.hub.upstreams[0]!.queue;
    const controller = new AbortController();
    const queued = once(queue, 'length');
    const pending = client.chat.completions
      .create({ model: 'gpt-4o-mini', messages: [] }, { signal: controller.signal })
      .catch((err: unknown) => err);
    await queued;
    expect(queue.length).toBe(1);
    controller.abort();
    expect(await pending).toBeInstanceOf(OpenAI.APIUserAbortError);
    const records = await closeAndRead();
    expect(mock.received).toHaveLength(1);
    expect(records.map((record) => record.error)).toEqual([null, 'client_closed']);
  });

  it('a client that leaves before the upstream answers cancels the upstream request', async () => {
    const client = await start();
    mock.script('*', { type: 'hang' });
    const controller = new AbortController();
    const pending = client.chat.completions
      .create({ model: 'gpt-4o-mini', messages: [] }, { signal: controller.signal })
      .catch((err: unknown) => err);
    const upstream = await mock.waitForRequest();
    controller.abort();
    await pending;
    await mock.waitForAbort(upstream);
    const records = await closeAndRead();
    expect(records).toMatchObject([{ error: 'client_closed' }]);
  });

  it('a client that leaves mid-stream cancels the upstream stream, and what was used is recorded', async () => {
    const client = await start();
    mock.options.chunkDelayMs = 50;
    mock.options.streamChunks = 40;
    const stream = await client.chat.completions.create({
      model: 'gpt-4o-mini',
      messages: [{ role: 'user', content: 'hi' }],
      stream: true,
    });
    let chunks = 0;
    // Leaving the loop early makes the SDK abort the request.
    for await (const _ of stream) if (++chunks === 3) break;
    await mock.waitForAbort(mock.received[0]!);
    const pool = running.hub.upstreams[0]!.pool;
    const records = await closeAndRead();
    expect(records).toMatchObject([{ error: 'client_closed', status: 200, usageSource: 'estimated' }]);
    // The client left; the upstream did nothing wrong: the key is not judged for it.
    expect(pool.state(pool.keys[0]!.hash)).toMatchObject({ status: 'ok', consecutiveFailures: 0 });
    expect(records[0]!.usage!.completion_tokens).toBeGreaterThan(0);
  });

  /**
   * A client that reads a large answer slowly: the upstream may only get ahead of it by what socket
   * buffers hold. Were aifd to take the answer from the upstream as fast as it comes and keep what
   * the client has not read yet, the upstream would get ahead by nearly the whole answer.
   */
  async function readsSlowly(headers: Record<string, string>): Promise<void> {
    const size = 96 * 1024 * 1024;
    const mostAhead = 32 * 1024 * 1024;
    mock.script('*', { type: 'large', bytes: size });
    const answer = await new Promise<http.IncomingMessage>((resolve, reject) => {
      const req = http.request(
        `${running.url}/v1/chat/completions`,
        { method: 'POST', headers: { 'content-type': 'application/json', ...headers } },
        resolve,
      );
      req.on('error', reject);
      req.end(JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'a long answer, please' }] }));
    });
    let received = 0;
    let ahead = 0;
    answer.on('data', (chunk: Buffer) => {
      received += chunk.length;
      ahead = Math.max(ahead, mock.largeBytesWritten - received);
      // a slow reader: a pause after every chunk
      answer.pause();
      setTimeout(() => answer.resume(), 1);
    });
    await once(answer, 'end');
    expect(answer.statusCode).toBe(200);
    expect(received).toBe(size);
    expect(ahead).toBeGreaterThan(0);
    expect(ahead).toBeLessThan(mostAhead);
  }

  it('a client that stops reading holds the upstream back; aifd does not buffer the answer (pool mode, answer read for usage)', async () => {
    await start();
    await readsSlowly({ authorization: `Bearer ${USER}` });
    const [record] = await closeAndRead();
    expect(record).toMatchObject({ status: 200, error: null });
  });

  it('a client that stops reading holds the upstream back; aifd does not buffer the answer (pass-through, answer not read)', async () => {
    await start({
      upstreams: [{ name: 'openai', baseUrl: mock.url }],
      auth: undefined,
      limits: undefined,
      logs: { access: false },
    });
    await readsSlowly({ authorization: 'Bearer sk-the-clients-own-key' });
    await running.close();
    expect(running.hub.inFlight()).toBe(0);
  });

  it('closes connections that send their headers too slowly (slowloris), and keeps serving', async () => {
    const client = await start();
    const socket = net.connect(port(), '127.0.0.1');
    socket.on('error', () => undefined);
    socket.resume();
    const closed = new Promise((resolve) => socket.once('close', resolve));
    await once(socket, 'connect');
    socket.write('POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\n');
    const trickle = setInterval(() => !socket.destroyed && socket.write('X-Slow: 1\r\n'), 100);
    await closed;
    clearInterval(trickle);
    expect((await client.chat.completions.create({ model: 'gpt-4o-mini', messages: [] })).object).toBe(
      'chat.completion',
    );
  });

  it('closes a connection that never sends a byte once headersTimeout has passed', async () => {
    await start();
    const socket = net.connect(port(), '127.0.0.1');
    // Flowing, so that the end of the connection is read (a paused socket may never see it).
    socket.resume();
    socket.on('error', () => undefined);
    const closed = new Promise<number>((resolve) => socket.once('close', () => resolve(performance.now())));
    await once(socket, 'connect');
    const openedAt = performance.now();
    // headersTimeout is 500 ms here; Node alone would keep a silent connection forever.
    expect((await closed) - openedAt).toBeGreaterThanOrEqual(450);
  });

  it('closes a request whose body never finishes, and records it', async () => {
    await start();
    const socket = net.connect(port(), '127.0.0.1');
    await once(socket, 'connect');
    socket.on('error', () => undefined);
    socket.write(
      `POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${USER}\r\nContent-Type: application/json\r\nContent-Length: 500\r\n\r\n{"model":`,
    );
    const answer: Buffer[] = [];
    socket.on('data', (chunk: Buffer) => answer.push(chunk));
    await once(socket, 'close');
    expect(Buffer.concat(answer).toString()).toMatch(/^HTTP\/1.1 408/);
    const records = await closeAndRead();
    expect(records).toHaveLength(1);
    expect(records[0]!.error).not.toBeNull();
    expect(mock.received).toHaveLength(0);
  });

  it('keeps serving with 1,000 idle connections open', async () => {
    const client = await start({ listen: { headersTimeout: '30s', requestTimeout: '5m' } });
    const sockets = await Promise.all(
      Array.from({ length: 1000 }, async () => {
        const socket = net.connect(port(), '127.0.0.1');
        socket.on('error', () => undefined);
        await once(socket, 'connect');
        return socket;
      }),
    );
    const answers = await Promise.all(
      Array.from({ length: 20 }, () => client.chat.completions.create({ model: 'gpt-4o-mini', messages: [] })),
    );
    expect(answers.every((answer) => answer.object === 'chat.completion')).toBe(true);
    for (const socket of sockets) socket.destroy();
  });

  it('answers malformed HTTP, conflicting lengths and huge headers with a 4xx and closes', async () => {
    await start();
    const conflicting = await rawExchange(
      port(),
      'POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n',
    );
    expect(conflicting).toMatch(/^HTTP\/1.1 400/);
    const doubled = await rawExchange(
      port(),
      'POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nContent-Length: 7\r\n\r\nhello',
    );
    expect(doubled).toMatch(/^HTTP\/1.1 400/);
    const huge = await rawExchange(
      port(),
      `GET /v1/models HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(64 * 1024)}\r\n\r\n`,
    );
    expect(huge).toMatch(/^HTTP\/1.1 431/);
    expect(huge).toContain('"type":"invalid_request_error"');
    const garbage = await rawExchange(port(), 'HELLO THERE\r\n\r\n');
    expect(garbage).toMatch(/^HTTP\/1.1 400/);
    expect(mock.received).toHaveLength(0);
    const records = await closeAndRead();
    expect(records).toHaveLength(0);
  });

  it('refuses a huge body with 413 and ill-typed fields with 400, and forwards what it need not read', async () => {
    await start();
    const post = (body: string) =>
      request(`${running.url}/v1/chat/completions`, {
        method: 'POST',
        headers: { authorization: `Bearer ${USER}`, 'content-type': 'application/json' },
        body,
      });
    expect(
      (await post(JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'x'.repeat(100_000) }] })))
        .status,
    ).toBe(413);
    for (const body of [
      '{"model": 4, "messages": []}',
      '{"model": "gpt-4o-mini", "stream": "yes"}',
      '{"model": "gpt-4o-mini"',
      '{"model":"a","model":"b"}',
    ]) {
      const response = await post(body);
      expect(response.status, body).toBe(400);
      expect(JSON.parse(response.body.toString()).error.type).toBe('invalid_request_error');
    }
    // Fields aifd only estimates from: wrong types there are the upstream's to judge, not a crash.
    for (const body of [
      '{"model":"gpt-4o-mini","messages":"hi"}',
      '{"model":"gpt-4o-mini","messages":[null, 5, "x", {"content": {"a": 1}}],"max_tokens":"9"}',
      '{"model":"gpt-4o-mini","stream_options":"x","input":[1,{"a":2}]}',
    ]) {
      expect((await post(body)).status, body).toBe(200);
    }
    const records = await closeAndRead();
    expect(records).toHaveLength(8);
    expect(records.filter((record) => record.status === 500)).toHaveLength(0);
  });
});
