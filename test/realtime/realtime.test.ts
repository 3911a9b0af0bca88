/**
 * Realtime sessions through aifd over real sockets: the official SDK's OpenAIRealtimeWS over TLS,
 * raw `ws` clients for the edge cases, the mock upstream's Realtime endpoint behind.
 */
import { describe, expect, it, beforeAll } from 'vitest';
import { once } from 'node:events';
import { mkdtemp } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import OpenAI from 'openai';
import { OpenAIRealtimeWS } from 'openai/realtime/ws';
import type { ResponseDoneEvent, SessionCreatedEvent } from 'openai/resources/realtime/realtime';
import WebSocket from 'ws';
import { useMockUpstream } from '../helpers/mock.js';
import { keyViews, startAdmin, useHub, type RunningHub } from '../helpers/hub.js';
import { rawExchange, request } from '../helpers/http.js';
import { readJsonLines } from '../helpers/logs.js';
import type { ChatRecord } from '../../src/logs/chat-record.js';
import { makeCertificate, type TestCertificate } from '../helpers/tls.js';
import { DOCUMENTED_USAGE } from '../mock-upstream/realtime.js';
import { startMockUpstream } from '../mock-upstream/mock-upstream.js';
import { normalizeUsage } from '../../src/usage/usage.js';

const POOL_A = 'sk-realtime-pool-a-000000000000000000';
const POOL_B = 'sk-realtime-pool-b-111111111111111111';
const ANN = 'fk-realtime-ann-0000000000000';

describe('Realtime sessions', () => {
  const mock = useMockUpstream();
  const hubs = useHub();
  let certificate: TestCertificate;
  beforeAll(async () => {
    certificate = await makeCertificate(await mkdtemp(path.join(os.tmpdir(), 'aifd-rt-')));
  });

  function start(extra: Record<string, unknown> = {}, tls = false): Promise<RunningHub> {
    return hubs.start({
      upstreams: [{ name: 'openai', baseUrl: mock.url, keys: [POOL_A, POOL_B] }],
      auth: { forwardKeys: [{ key: ANN, user: 'ann', roles: [] }] },
      ...(tls ? { listen: { tls: { cert: certificate.certFile, key: certificate.keyFile } } as never } : {}),
      ...extra,
    });
  }

  const wsUrl = (running: RunningHub, query = 'model=gpt-realtime') =>
    `${running.url.replace('http', 'ws')}/v1/realtime?${query}`;

  it('carries an OpenAIRealtimeWS session over TLS with a forward key, and accounts its usage', async () => {
    const running = await start({}, true);
    const https = running.url.replace('http://', 'https://');
    const client = new OpenAI({ apiKey: ANN, baseURL: `${https}/v1` });
    const rt = new OpenAIRealtimeWS({ model: 'gpt-realtime', options: { ca: certificate.cert } }, client);
    const created = await new Promise<SessionCreatedEvent>((resolve, reject) => {
      rt.on('session.created', resolve);
      rt.on('error', reject);
    });
    expect((created.session as { model?: string }).model).toBe('gpt-realtime');
    rt.send({ type: 'response.create' });
    const done = await new Promise<ResponseDoneEvent>((resolve) => rt.on('response.done', resolve));
    expect(done.response.usage).toEqual(DOCUMENTED_USAGE);
    rt.close();
    await once(rt.socket, 'close');
    const records = await running.closeAndReadAccessLog();
    expect(records).toHaveLength(1);
    expect(records[0]).toMatchObject({
      path: '/v1/realtime',
      status: 101,
      user: 'ann',
      model: 'gpt-realtime',
      usage: normalizeUsage(DOCUMENTED_USAGE),
      usageSource: 'upstream',
      session: { responses: 1, closedBy: 'client', closeCode: 1000 },
    });
    expect(mock.realtime.sessions[0]!.key).toBe(POOL_A);
    expect(JSON.stringify(records)).not.toContain(POOL_A);
    for (const view of keyViews(running)) expect(view.inFlight).toBe(0);
  });

  it('takes a browser credential from the subprotocols, and the upstream never sees it', async () => {
    const running = await start();
    const ws = await open(wsUrl(running), { protocols: ['realtime', `openai-insecure-api-key.${ANN}`] });
    expect(ws.protocol).toBe('realtime');
    await nextEvent(ws, 'session.created');
    const seen = mock.realtime.sessions[0]!;
    expect(seen.key).toBe(POOL_A);
    expect(seen.headers['sec-websocket-protocol']).toBe('realtime');
    expect(JSON.stringify(seen.headers)).not.toContain(ANN);
    ws.close();
    await once(ws, 'close');
  });

  it('refuses before any upgrade, OpenAI-shaped, and the upstream is never contacted', async () => {
    const running = await start({
      acl: {
        default: 'deny',
        rules: [{ effect: 'allow', users: ['ann'], paths: ['/v1/realtime'], models: ['gpt-realtime-mini'] }],
      },
    });
    const unknown = await refusal(wsUrl(running), { headers: { authorization: 'Bearer fk-nobody-at-all-000000' } });
    expect(unknown.status).toBe(401);
    expect(unknown.body.error.code).toBe('invalid_api_key');
    const noKey = await refusal(wsUrl(running), {});
    expect(noKey.status).toBe(401);
    const model = await refusal(wsUrl(running), { headers: { authorization: `Bearer ${ANN}` } });
    expect(model.status).toBe(403);
    expect(model.body.error.code).toBe('model_not_allowed');
    const browser = await refusal(wsUrl(running), { protocols: ['realtime', 'openai-insecure-api-key.fk-wrong-000'] });
    expect(browser.status).toBe(401);
    expect(mock.received).toHaveLength(0);
    const records = await running.closeAndReadAccessLog();
    expect(records.map((record) => record.status)).toEqual([401, 401, 403, 401]);
  });

  it('refuses an upgrade that is not WebSocket, and a path no route serves', async () => {
    const running = await start({
      upstreams: [{ name: 'openai', route: '/openai', baseUrl: mock.url, keys: [POOL_A] }],
    });
    const port = Number(new URL(running.url).port);
    const h2c = await rawExchange(
      port,
      `GET /openai/v1/models HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: h2c\r\nAuthorization: Bearer ${ANN}\r\n\r\n`,
    );
    expect(h2c).toMatch(/^HTTP\/1\.1 400 /);
    expect(h2c).toContain('only WebSocket upgrades are forwarded');
    const nowhere = await refusal(`${running.url.replace('http', 'ws')}/v2/realtime?model=gpt-realtime`, {
      headers: { authorization: `Bearer ${ANN}` },
    });
    expect(nowhere.status).toBe(404);
    expect(nowhere.body.error.code).toBe('route_not_found');
    expect(mock.received).toHaveLength(0);
  });

  it('answers 429 with Retry-After when the caller is over its request limit', async () => {
    const running = await start({ limits: { user: { requests: '1/minute' } } });
    const ws = await open(wsUrl(running), { headers: { authorization: `Bearer ${ANN}` } });
    await nextEvent(ws, 'session.created');
    const refused = await refusal(wsUrl(running), { headers: { authorization: `Bearer ${ANN}` } });
    expect(refused.status).toBe(429);
    expect(Number(refused.headers['retry-after'])).toBeGreaterThan(0);
    expect(refused.body.error.code).toBe('rate_limit_exceeded');
    expect(mock.realtime.sessions).toHaveLength(1);
    ws.close();
    await once(ws, 'close');
  });

  it('fails a refused handshake over to another key, and judges the key as for HTTP', async () => {
    const running = await start();
    mock.always(POOL_A, { type: 'error', error: 'invalid_api_key' });
    mock.script(POOL_B, { type: 'error', error: 'rate_limit_requests', headers: { 'retry-after': '30' } });
    // B is cooling after its 429; A is revoked after its 401: the next session has no key left.
    const first = await refusal(wsUrl(running), { headers: { authorization: `Bearer ${ANN}` } });
    expect(first.status).toBe(429);
    expect(keyViews(running).map((view) => view.status)).toEqual(['revoked', 'cooling']);
    mock.reset();
    running.hub.upstreams[0]!.pool.restore(keyViews(running)[1]!.hash, { status: 'ok', until: undefined });
    const ws = await open(wsUrl(running), { headers: { authorization: `Bearer ${ANN}` } });
    await nextEvent(ws, 'session.created');
    expect(mock.realtime.sessions[0]!.key).toBe(POOL_B);
    expect(keyViews(running)[1]).toMatchObject({ inFlight: 1, sessions: 1 });
    ws.close();
    await once(ws, 'close');
    const records = await running.closeAndReadAccessLog();
    expect(records[0]).toMatchObject({ status: 429, attempts: 2 });
    expect(records[1]).toMatchObject({ status: 101, attempts: 1 });
    expect(JSON.stringify(records)).not.toMatch(/sk-realtime/);
  });

  it('keeps the turns in the chat log, passes error events, and counts sessions in the metrics', async () => {
    const running = await start({ logs: { chat: true } });
    const admin = await startAdmin(running.hub, 'admin-token-realtime-0000');
    const metrics = async () =>
      (
        await request(`${admin.url}/metrics`, { headers: { authorization: 'Bearer admin-token-realtime-0000' } })
      ).body.toString();
    try {
      const ws = await open(wsUrl(running), { headers: { authorization: `Bearer ${ANN}` } });
      await nextEvent(ws, 'session.created');
      expect(await metrics()).toMatch(/^aifd_ws_sessions 1$/m);
      ws.send(JSON.stringify({ type: 'no.such.event' }));
      expect(await nextEvent(ws, 'error')).toMatchObject({ error: { code: 'unknown_event' } });
      ws.send(
        JSON.stringify({
          type: 'conversation.item.create',
          item: { type: 'message', role: 'user', content: [{ type: 'input_text', text: 'Say hello' }] },
        }),
      );
      ws.send(JSON.stringify({ type: 'input_audio_buffer.append', audio: 'AAAA' }));
      ws.send(JSON.stringify({ type: 'input_audio_buffer.commit' }));
      ws.send(JSON.stringify({ type: 'response.create' }));
      await nextEvent(ws, 'response.done');
      ws.close();
      await once(ws, 'close');
      await running.close();
      const [chat] = await readJsonLines<ChatRecord>(running.config.logs.dir, 'chat-');
      expect(chat).toMatchObject({
        user: 'ann',
        model: 'gpt-realtime',
        messages: [
          { role: 'user', content: 'Say hello' },
          { role: 'user', content: 'heard 4 bytes' },
          { role: 'assistant', content: 'Hello there there' },
        ],
        assistant: 'Hello there there',
        aborted: false,
      });
      const text = await metrics();
      expect(text).toMatch(/^aifd_ws_sessions 0$/m);
      expect(text).toMatch(/^aifd_ws_frames_total\{direction="in"\} [1-9]/m);
      expect(text).toMatch(/^aifd_ws_bytes_total\{direction="out"\} [1-9]/m);
    } finally {
      await admin.close();
    }
  });

  it('opens on the next key within one handshake when the first is rate limited', async () => {
    const running = await start();
    mock.script(POOL_A, { type: 'error', error: 'rate_limit_requests', headers: { 'retry-after': '30' } });
    const ws = await open(wsUrl(running), { headers: { authorization: `Bearer ${ANN}` } });
    await nextEvent(ws, 'session.created');
    expect(mock.received.map((seen) => seen.key)).toEqual([POOL_A, POOL_B]);
    expect(keyViews(running).map((view) => view.status)).toEqual(['cooling', 'ok']);
    ws.close();
    await once(ws, 'close');
    const [record] = await running.closeAndReadAccessLog();
    expect(record).toMatchObject({ status: 101, attempts: 2, key: keyViews(running)[1]!.hash });
  });

  it('refuses a model alias on a handshake, before the upstream, asking for the model itself', async () => {
    const running = await start({ aliases: { voice: { upstream: 'openai', model: 'gpt-realtime-mini' } } });
    const refused = await refusal(wsUrl(running, 'model=voice'), { headers: { authorization: `Bearer ${ANN}` } });
    expect(refused.status).toBe(400);
    expect(refused.body.error).toMatchObject({ code: 'invalid_request', param: 'model' });
    expect(mock.received).toHaveLength(0);
  });

  it("routes a handshake by the model in its query, with the upstream's own query parameters", async () => {
    const other = await startMockUpstream();
    try {
      const running = await start({
        upstreams: [
          { name: 'text', baseUrl: other.url, keys: [POOL_B], models: ['gpt-4o*'] },
          {
            name: 'voice',
            baseUrl: mock.url,
            keys: [POOL_A],
            models: ['gpt-realtime*'],
            query: { 'api-version': '2025-04-01' },
          },
        ],
      });
      const ws = await open(wsUrl(running, 'model=gpt-realtime&intent=conversation'), {
        headers: { authorization: `Bearer ${ANN}` },
      });
      await nextEvent(ws, 'session.created');
      const url = new URL(mock.realtime.sessions[0]!.url, 'http://mock');
      expect(Object.fromEntries(url.searchParams)).toEqual({
        model: 'gpt-realtime',
        intent: 'conversation',
        'api-version': '2025-04-01',
      });
      expect(other.received).toHaveLength(0);
      ws.close();
      await once(ws, 'close');
    } finally {
      await other.close();
    }
  });

  it('passes the client its own key on a pass-through route', async () => {
    const running = await hubs.start({ upstreams: [{ name: 'openai', baseUrl: mock.url }] });
    const ws = await open(wsUrl(running), { headers: { authorization: 'Bearer sk-the-clients-own-key-0000' } });
    await nextEvent(ws, 'session.created');
    expect(mock.realtime.sessions[0]!.key).toBe('sk-the-clients-own-key-0000');
    ws.close();
    await once(ws, 'close');
  });

  it('passes a 16 MB frame both ways, and ping and pong', async () => {
    const running = await start();
    mock.realtime.options.echo = true;
    const ws = await open(wsUrl(running), {
      headers: { authorization: `Bearer ${ANN}` },
      maxPayload: 64 * 1024 * 1024,
    });
    await nextEvent(ws, 'session.created');
    const big = Buffer.alloc(16 * 1024 * 1024, 7);
    const echoed = new Promise<Buffer>((resolve) =>
      ws.on('message', (data, isBinary) => isBinary && resolve(data as Buffer)),
    );
    ws.send(big);
    expect((await echoed).equals(big)).toBe(true);
    const pong = once(ws, 'pong');
    ws.ping('are you there');
    expect(String((await pong)[0])).toBe('are you there');
    ws.close(4000, 'done here');
    await once(ws, 'close');
    const records = await running.closeAndReadAccessLog();
    expect(records[0]!.session).toMatchObject({ closedBy: 'client', closeCode: 4000, closeReason: 'done here' });
    expect(records[0]!.session!.bytesIn).toBeGreaterThan(16 * 1024 * 1024);
    expect(records[0]!.session!.bytesOut).toBeGreaterThan(16 * 1024 * 1024);
  });

  it('holds the upstream back while the client reads slowly: nothing piles up in aifd', async () => {
    const running = await start();
    mock.realtime.options.deltas = 400;
    mock.realtime.options.audioDeltaBytes = 16_000;
    const ws = await open(wsUrl(running), { headers: { authorization: `Bearer ${ANN}` } });
    await nextEvent(ws, 'session.created');
    const clientSocket = (ws as unknown as { _socket: import('node:net').Socket })._socket;
    clientSocket.pause();
    ws.send(JSON.stringify({ type: 'response.create' }));
    // About 6.4 MB are sent at once; with the client not reading, most of it must wait at the mock.
    const session = mock.realtime.sessions[0]!;
    const deadline = Date.now() + 5000;
    while (session.buffered() < 2_000_000 && Date.now() < deadline) await new Promise(setImmediate);
    expect(session.buffered()).toBeGreaterThan(2_000_000);
    clientSocket.resume();
    await nextEvent(ws, 'response.done');
    ws.close();
    await once(ws, 'close');
  });

  it('records a client that vanishes mid-response, and frees its key', async () => {
    const running = await start();
    mock.realtime.options.deltas = 200;
    mock.realtime.options.audioDeltaBytes = 8000;
    const ws = await open(wsUrl(running), { headers: { authorization: `Bearer ${ANN}` } });
    await nextEvent(ws, 'session.created');
    ws.send(JSON.stringify({ type: 'response.create' }));
    await nextEvent(ws, 'response.output_audio.delta');
    ws.terminate();
    await mock.realtime.sessions[0]!.closed;
    const records = await running.closeAndReadAccessLog();
    expect(records).toHaveLength(1);
    expect(records[0]!.session!.closedBy).toBeNull();
    expect(running.hub.inFlight()).toBe(0);
    expect(keyViews(running).map((view) => view.inFlight)).toEqual([0, 0]);
  });

  it('closes the client when the upstream breaks off mid-response, with its close code', async () => {
    const running = await start();
    mock.realtime.options.closeAfterCreated = 1011;
    const ws = await open(wsUrl(running), { headers: { authorization: `Bearer ${ANN}` } });
    await nextEvent(ws, 'session.created');
    ws.send(JSON.stringify({ type: 'response.create' }));
    const [code] = await once(ws, 'close');
    expect(code).toBe(1011);
    const records = await running.closeAndReadAccessLog();
    expect(records[0]!.session).toMatchObject({ closedBy: 'upstream', closeCode: 1011, responses: 0 });
  });

  it('closes a session that uses up its budget, with an error event and 1008', async () => {
    const running = await start({
      limits: { budgets: { users: { ann: { daily: 0.001 } } } },
    });
    const ws = await open(wsUrl(running), { headers: { authorization: `Bearer ${ANN}` } });
    await nextEvent(ws, 'session.created');
    const events = received.get(ws)!;
    const closed = once(ws, 'close');
    // The documented usage costs about $0.0029 at gpt-realtime's prices: the first response uses up $0.001.
    ws.send(JSON.stringify({ type: 'response.create' }));
    const [code, reason] = await closed;
    expect(code).toBe(1008);
    expect(String(reason)).toContain('budget');
    expect(events.at(-2)?.type).toBe('response.done');
    expect(events.at(-1)).toMatchObject({ type: 'error', error: { code: 'budget_exceeded' } });
    const again = await refusal(wsUrl(running), { headers: { authorization: `Bearer ${ANN}` } });
    expect(again.status).toBe(429);
    expect(again.body.error.code).toBe('budget_exceeded');
    const records = await running.closeAndReadAccessLog();
    expect(records[0]).toMatchObject({ error: 'budget_exceeded', session: { closedBy: 'aifd', closeCode: 1008 } });
  });

  it('closes an idle session, and one open at shutdown with 1001', async () => {
    const running = await start({
      upstreams: [{ name: 'openai', baseUrl: mock.url, keys: [POOL_A], timeouts: { sessionIdleMs: 300 } }],
    });
    const idle = await open(wsUrl(running), { headers: { authorization: `Bearer ${ANN}` } });
    const [idleCode] = await once(idle, 'close');
    expect(idleCode).toBe(1000);
    const open2 = await open(wsUrl(running), { headers: { authorization: `Bearer ${ANN}` } });
    await nextEvent(open2, 'session.created');
    const closed = once(open2, 'close');
    const records = running.hub.close(50).then(() => running.closeAndReadAccessLog());
    const [code] = await closed;
    expect(code).toBe(1001);
    expect((await records).map((record) => record.session?.closedBy)).toEqual(['aifd', 'aifd']);
  });

  it('keeps a session through a config reload', async () => {
    const running = await start();
    const ws = await open(wsUrl(running), { headers: { authorization: `Bearer ${ANN}` } });
    await nextEvent(ws, 'session.created');
    const result = await running.hub.reload({
      ...running.config,
      upstreams: [{ ...running.config.upstreams[0]!, keys: [POOL_B] }],
    });
    expect(result.ok).toBe(true);
    ws.send(JSON.stringify({ type: 'response.create' }));
    await nextEvent(ws, 'response.done');
    ws.close();
    await once(ws, 'close');
  });

  it('opens 500 sessions at once', async () => {
    const running = await start();
    const sockets = await Promise.all(
      Array.from({ length: 500 }, async () => {
        const ws = await open(wsUrl(running), { headers: { authorization: `Bearer ${ANN}` } });
        await nextEvent(ws, 'session.created');
        return ws;
      }),
    );
    expect(running.hub.sessions.size).toBe(500);
    await Promise.all(
      sockets.map((ws) => {
        ws.close();
        return once(ws, 'close');
      }),
    );
    const records = await running.closeAndReadAccessLog();
    expect(records).toHaveLength(500);
    expect(records.every((record) => record.status === 101)).toBe(true);
  });
});

interface OpenOptions {
  headers?: Record<string, string>;
  protocols?: string[];
  maxPayload?: number;
}

/** Server events a socket received, kept from its first byte (the first may come with the 101). */
const received = new WeakMap<WebSocket, Record<string, any>[]>();

function open(url: string, options: OpenOptions): Promise<WebSocket> {
  const ws = new WebSocket(url, options.protocols ?? [], { headers: options.headers, maxPayload: options.maxPayload });
  const events: Record<string, any>[] = [];
  received.set(ws, events);
  ws.on('message', (data, isBinary) => {
    if (!isBinary) events.push(JSON.parse(String(data)));
    ws.emit('event');
  });
  return new Promise((resolve, reject) => {
    ws.once('open', () => resolve(ws));
    ws.once('error', reject);
  });
}

/** The HTTP answer to a handshake that was refused. */
function refusal(
  url: string,
  options: OpenOptions,
): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: any }> {
  const ws = new WebSocket(url, options.protocols ?? [], { headers: options.headers });
  return new Promise((resolve, reject) => {
    ws.once('open', () => reject(new Error('the handshake was accepted')));
    ws.once('error', reject);
    ws.once('unexpected-response', (_req, res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () =>
        resolve({
          status: res.statusCode ?? 0,
          headers: res.headers,
          body: JSON.parse(Buffer.concat(chunks).toString()),
        }),
      );
    });
  });
}

/** The first server event of `type` not taken yet (events before it are passed over). */
function nextEvent(ws: WebSocket, type: string): Promise<Record<string, any>> {
  const events = received.get(ws)!;
  return new Promise((resolve) => {
    const look = () => {
      const at = events.findIndex((event) => event.type === type);
      if (at === -1) return;
      ws.off('event', look);
      resolve(events.splice(0, at + 1).at(-1)!);
    };
    ws.on('event', look);
    look();
  });
}
