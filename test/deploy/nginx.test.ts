/**
 * deploy/nginx.conf in front of aifd, with Debian's nginx: a stream arrives event by event (not
 * buffered), the client's address reaches the access log through X-Forwarded-For, and a Realtime
 * WebSocket session passes.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, writeFile } from 'node:fs/promises';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { useMockUpstream } from '../helpers/mock.js';
import { useHub } from '../helpers/hub.js';

const NGINX = '/usr/sbin/nginx';
const POOL_KEY = 'sk-behind-nginx-pool-key-000000000';
const ANN = 'fk-behind-nginx-ann-00000000';

/** A free port on loopback, for nginx to listen on. */
async function freePort(): Promise<number> {
  const server = net.createServer().listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as net.AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** Waits until something accepts connections on the port (nginx has started). */
async function accepting(port: number, nginx: ChildProcess, log: () => string): Promise<void> {
  for (;;) {
    if (nginx.exitCode !== null) throw new Error(`nginx exited: ${log()}`);
    const open = await new Promise<boolean>((resolve) => {
      const socket = net.connect(port, '127.0.0.1', () => resolve(socket.end() !== undefined));
      socket.on('error', () => resolve(false));
    });
    if (open) return;
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

describe.runIf(existsSync(NGINX))('behind nginx (deploy/nginx.conf)', () => {
  const mock = useMockUpstream();
  const hubs = useHub();
  let dir: string;
  let nginx: ChildProcess | undefined;
  let nginxUrl: string;
  let output = '';

  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'aifd-nginx-'));
  });
  afterAll(() => {
    nginx?.kill('SIGQUIT');
  });

  /** nginx with the shipped snippet, aimed at `aifdPort`. */
  async function startNginx(aifdPort: number): Promise<void> {
    const port = await freePort();
    const snippet = (await readFile('deploy/nginx.conf', 'utf8'))
      .replace('server 127.0.0.1:8000;', `server 127.0.0.1:${aifdPort};`)
      .replace('listen 80;', `listen 127.0.0.1:${port};`);
    await mkdir(path.join(dir, 'temp'), { recursive: true });
    await writeFile(path.join(dir, 'aifd.conf'), snippet);
    await writeFile(
      path.join(dir, 'nginx.conf'),
      [
        'daemon off;',
        'worker_processes 1;',
        `pid ${dir}/nginx.pid;`,
        `error_log ${dir}/error.log warn;`,
        'events { worker_connections 1024; }',
        'http {',
        '  access_log off;',
        ...['client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi'].map(
          (kind) => `  ${kind}_temp_path ${dir}/temp/${kind};`,
        ),
        `  include ${dir}/aifd.conf;`,
        '}',
      ].join('\n'),
    );
    nginx = spawn(NGINX, ['-c', path.join(dir, 'nginx.conf'), '-p', dir], { stdio: ['ignore', 'pipe', 'pipe'] });
    nginx.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
    await accepting(port, nginx, () => output);
    nginxUrl = `http://127.0.0.1:${port}`;
  }

  it('relays a stream event by event, passes the client address, and carries a Realtime session', async () => {
    const running = await hubs.start({
      upstreams: [{ name: 'openai', baseUrl: mock.url, keys: [POOL_KEY] }],
      auth: { forwardKeys: [{ key: ANN, user: 'ann', roles: [] }] },
      listen: { trustProxy: 1 } as never,
    });
    await startNginx(Number(new URL(running.url).port));
    mock.options.streamChunks = 6;
    mock.options.chunkDelayMs = 150;

    // From 127.0.0.2, so that the address the log shows is the client's, not nginx's own.
    const arrivals: number[] = [];
    const started = performance.now();
    const status = await new Promise<number>((resolve, reject) => {
      const req = http.request(
        `${nginxUrl}/v1/chat/completions`,
        {
          method: 'POST',
          localAddress: '127.0.0.2',
          headers: { authorization: `Bearer ${ANN}`, 'content-type': 'application/json' },
        },
        (res) => {
          res.on('data', (chunk: Buffer) => {
            if (chunk.includes('"content":"')) arrivals.push(performance.now() - started);
          });
          res.on('end', () => resolve(res.statusCode ?? 0));
        },
      );
      req.on('error', reject);
      req.end(JSON.stringify({ model: 'gpt-4o-mini', messages: [], stream: true }));
    });
    expect(status).toBe(200);
    expect(arrivals.length).toBeGreaterThanOrEqual(5);
    const gaps = arrivals.slice(1).map((at, index) => at - arrivals[index]!);
    // Buffered, the events would arrive together at the end; passed on, about 150 ms apart.
    expect(Math.min(...gaps)).toBeGreaterThan(75);

    const ws = new WebSocket(`${nginxUrl.replace('http', 'ws')}/v1/realtime?model=gpt-realtime`, {
      headers: { authorization: `Bearer ${ANN}` },
    });
    const types: string[] = [];
    await new Promise<void>((resolve, reject) => {
      ws.on('error', reject);
      ws.on('message', (data) => {
        const { type } = JSON.parse(String(data));
        types.push(type);
        if (type === 'session.created') ws.send(JSON.stringify({ type: 'response.create' }));
        if (type === 'response.done') resolve();
      });
    });
    ws.close();
    await once(ws, 'close');
    expect(types[0]).toBe('session.created');
    expect(mock.realtime.sessions[0]!.key).toBe(POOL_KEY);

    const records = await running.closeAndReadAccessLog();
    expect(records[0]).toMatchObject({ ip: '127.0.0.2', status: 200, stream: true });
    expect(records[1]).toMatchObject({ status: 101, session: { closedBy: 'client' } });
    process.stderr.write(`behind nginx: stream event gaps ${gaps.map((gap) => gap.toFixed(0)).join(', ')} ms\n`);
  });
});
