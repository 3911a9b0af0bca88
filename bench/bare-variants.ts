/**
 * The bare proxy (bare-proxy.ts) with one piece of aifd's work added at a time, to price pieces
 * against the floor in one `bench/quick.ts` run. TARGET: the upstream. PARTS (joined by `+`):
 * - relay:  selfHandleResponse, the answer written by hand (status, raw headers, data, end), as aifd does;
 * - body:   the request body read whole before forwarding, then handed over as http-proxy-3's `buffer`;
 * - json:   that body parsed as JSON (with body);
 * - ids:    a request id header on every answer (randomUUID, setHeader);
 * - native: no http-proxy-3 at all: node:http's request() to the upstream, the answer relayed by hand.
 * SPIN_US: a busy loop of that many microseconds in every request, to see how a known amount of
 * work shows in the measured CPU per request.
 */
import http from 'node:http';
import { randomUUID } from 'node:crypto';
import { createProxyServer } from 'http-proxy-3';

const target = new URL(process.env.TARGET!);
const parts = new Set((process.env.PARTS ?? '').split('+').filter(Boolean));
const spinMs = Number(process.env.SPIN_US ?? 0) / 1000;
const agent = new http.Agent({ keepAlive: true, maxFreeSockets: 256 });
const proxy = createProxyServer({ target: target.href, agent, xfwd: true, selfHandleResponse: parts.has('relay') });
proxy.on('error', (_err, _req, res) => {
  if (res instanceof http.ServerResponse && !res.headersSent) res.writeHead(502);
  res.end();
});
proxy.on('proxyRes', (response, _req, res) => {
  if (parts.has('relay')) relay(response, res as http.ServerResponse);
});

function relay(response: http.IncomingMessage, res: http.ServerResponse): void {
  res.writeHead(response.statusCode!, response.rawHeaders);
  response.on('data', (chunk: Buffer) => res.write(chunk));
  response.on('end', () => res.end());
}

/** Forwards with node:http alone; the body is piped, or sent whole when it was read. */
function forwardNatively(req: http.IncomingMessage, res: http.ServerResponse, body: Buffer | undefined): void {
  const headers = { ...req.headers, host: target.host };
  const upstream = http.request(
    { host: target.hostname, port: target.port, method: req.method, path: req.url, headers, agent },
    (response) => relay(response, res),
  );
  upstream.on('error', () => res.destroy());
  if (body) upstream.end(body);
  else req.pipe(upstream);
}

function forward(req: http.IncomingMessage, res: http.ServerResponse, body: Buffer | undefined): void {
  if (parts.has('ids')) res.setHeader('x-aifd-request-id', randomUUID());
  if (parts.has('native')) forwardNatively(req, res, body);
  else if (body)
    proxy.web(req, res, { buffer: { pipe: (destination: http.ClientRequest) => destination.end(body) } as never });
  else proxy.web(req, res);
}

const server = http.createServer({ keepAliveTimeout: 65_000 }, (req, res) => {
  if (spinMs > 0) for (const until = performance.now() + spinMs; performance.now() < until; );
  if (!parts.has('body')) return forward(req, res, undefined);
  const chunks: Buffer[] = [];
  req.on('data', (chunk: Buffer) => chunks.push(chunk));
  req.on('end', () => {
    const body = chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks);
    if (parts.has('json')) JSON.parse(body.toString('utf8'));
    forward(req, res, body);
  });
});
server.listen(0, '127.0.0.1', () => {
  process.stdout.write(JSON.stringify({ port: (server.address() as { port: number }).port }) + '\n');
});
process.on('SIGTERM', () => server.close(() => process.exit(0)));
