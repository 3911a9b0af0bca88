/**
 * aifd behind a corporate proxy: requests to a TLS upstream (a certificate made here, trusted
 * through `tls.ca`) go through a real HTTP proxy server (the `proxy` package) as CONNECT tunnels
 * only; the proxy never sees a request line, a header or a pool key.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import OpenAI from 'openai';
import http from 'node:http';
import { once } from 'node:events';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { createProxy, type ProxyServer } from 'proxy';
import WebSocket from 'ws';
import { generate } from 'selfsigned';
import { startMockUpstream, type MockUpstream } from '../mock-upstream/mock-upstream.js';
import { startHub, type RunningHub } from '../helpers/hub.js';
import { request } from '../helpers/http.js';
import { runCli } from '../helpers/cli.js';

const POOL_KEY = 'sk-behind-the-proxy-pool-key-00000';
const USER_KEY = 'fk-behind-the-proxy-user-00000';

let dir: string;
let caFile: string;
let upstream: MockUpstream;
let proxy: ProxyServer;
let proxyUrl: string;
/** Every byte the proxy read from aifd, and the first line of every request it was asked. */
let seen: Buffer[] = [];
let requestLines: string[] = [];
let running: RunningHub | undefined;

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'aifd-proxy-'));
  const pems = await generate([{ name: 'commonName', value: '127.0.0.1' }], {
    keySize: 2048,
    algorithm: 'sha256',
    extensions: [{ name: 'subjectAltName', altNames: [{ type: 7, ip: '127.0.0.1' }] }],
  });
  caFile = path.join(dir, 'ca.pem');
  await writeFile(caFile, pems.cert);
  upstream = await startMockUpstream({ key: pems.private, cert: pems.cert });
  proxy = createProxy(http.createServer());
  proxy.on('connection', (socket) => socket.on('data', (chunk: Buffer) => seen.push(chunk)));
  proxy.on('connect', (req: http.IncomingMessage) => requestLines.push(`${req.method} ${req.url}`));
  proxy.on('request', (req: http.IncomingMessage) => requestLines.push(`${req.method} ${req.url}`));
  proxy.listen(0, '127.0.0.1');
  await once(proxy, 'listening');
  proxyUrl = `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`;
});
afterEach(async () => {
  await running?.close();
  running = undefined;
  seen = [];
  requestLines = [];
  proxy.authenticate = undefined;
  upstream.reset();
});
afterAll(async () => {
  await upstream.close();
  proxy.closeAllConnections();
  await new Promise((resolve) => proxy.close(resolve));
  await rm(dir, { recursive: true, force: true });
});

const hub = async (extra: Record<string, unknown> = {}) =>
  (running = await startHub({
    upstreams: [
      {
        name: 'openai',
        baseUrl: upstream.url,
        keys: [POOL_KEY],
        proxy: proxyUrl,
        tls: { ca: caFile },
        retries: 0,
        ...extra,
      },
    ],
    auth: { forwardKeys: [{ key: USER_KEY, user: 'ann', roles: [] }] },
  }));

describe('an upstream behind an outbound proxy', () => {
  it('reaches a TLS upstream through CONNECT only; the proxy sees no pool key', async () => {
    const { url } = await hub();
    const client = new OpenAI({ apiKey: USER_KEY, baseURL: `${url}/v1`, maxRetries: 0 });
    const answer = await client.chat.completions.create({
      model: 'gpt-4o-mini',
      messages: [{ role: 'user', content: 'through the proxy' }],
    });
    expect(answer.object).toBe('chat.completion');
    const stream = await client.chat.completions.create({ model: 'gpt-4o-mini', messages: [], stream: true });
    for await (const _ of stream) void _;
    expect(upstream.received.map((r) => r.headers.authorization)).toEqual([`Bearer ${POOL_KEY}`, `Bearer ${POOL_KEY}`]);
    expect(requestLines.length).toBeGreaterThan(0);
    expect(requestLines.every((line) => line === `CONNECT 127.0.0.1:${upstream.port}`)).toBe(true);
    const bytes = Buffer.concat(seen);
    expect(bytes.includes(POOL_KEY)).toBe(false);
    expect(bytes.includes('through the proxy')).toBe(false);
  });

  it('carries a Realtime WebSocket session to a TLS upstream through the CONNECT tunnel', async () => {
    const { url } = await hub();
    const ws = new WebSocket(`${url.replace('http', 'ws')}/v1/realtime?model=gpt-realtime`, {
      headers: { authorization: `Bearer ${USER_KEY}` },
    });
    const types: string[] = [];
    const done = new Promise<void>((resolve) =>
      ws.on('message', (data) => {
        const { type } = JSON.parse(String(data));
        types.push(type);
        if (type === 'session.created') ws.send(JSON.stringify({ type: 'response.create' }));
        if (type === 'response.done') resolve();
      }),
    );
    await done;
    ws.close();
    await once(ws, 'close');
    expect(types[0]).toBe('session.created');
    expect(upstream.realtime.sessions[0]!.key).toBe(POOL_KEY);
    expect(requestLines).toEqual([`CONNECT 127.0.0.1:${upstream.port}`]);
    expect(Buffer.concat(seen).includes(POOL_KEY)).toBe(false);
  });

  it('answers 502 naming the proxy when it refuses the tunnel, at once', async () => {
    proxy.authenticate = () => false;
    const { url } = await hub();
    const answer = await request(`${url}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${USER_KEY}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'gpt-4o-mini', messages: [] }),
    });
    expect(answer.status).toBe(502);
    expect(answer.json().error.message).toContain(`the proxy ${proxyUrl} refused the CONNECT tunnel (407`);
    expect(answer.body.toString()).not.toContain(POOL_KEY);
    expect(upstream.received).toHaveLength(0);
  });

  it('takes HTTPS_PROXY from the environment unless NO_PROXY names the host, and keys check goes the same way', async () => {
    const cwd = path.join(dir, 'cli');
    await import('node:fs/promises').then((fs) => fs.mkdir(cwd, { recursive: true }));
    await writeFile(
      path.join(cwd, 'hub.config.json'),
      JSON.stringify({
        admin: { enabled: false },
        store: 'memory://',
        upstreams: [{ name: 'openai', baseUrl: upstream.url, keys: [POOL_KEY], tls: { ca: caFile } }],
        auth: { anonymous: true },
      }),
    );
    const viaProxy = await runCli(['keys', 'check', '--json'], { cwd, env: { HTTPS_PROXY: proxyUrl } });
    expect(viaProxy.code).toBe(0);
    expect(JSON.parse(viaProxy.stdout).results[0].verdict).toBe('ok');
    expect(requestLines).toEqual([`CONNECT 127.0.0.1:${upstream.port}`]);
    const direct = await runCli(['keys', 'check', '--json'], {
      cwd,
      env: { HTTPS_PROXY: proxyUrl, NO_PROXY: '127.0.0.1' },
    });
    expect(direct.code).toBe(0);
    expect(requestLines).toHaveLength(1);
    const refused = await runCli(['keys', 'check', '--json'], { cwd, env: { HTTPS_PROXY: 'http://127.0.0.1:1' } });
    expect(refused.code).toBe(1);
    expect(refused.stdout + refused.stderr).not.toContain(POOL_KEY);
  });

  it('refuses a proxy URL that does not parse, and a CA file that cannot be read, at load', async () => {
    await expect(hub({ proxy: 'not a url' })).rejects.toThrow(/upstreams\[0\]\.proxy: "not a url" is not a proxy URL/);
    await expect(hub({ tls: { ca: path.join(dir, 'missing.pem') } })).rejects.toThrow(/ENOENT|missing\.pem/);
  });
});
