/**
 * The admin listener: loopback by default, bearer `admin.token` compared in constant time.
 * GET /state (JSON snapshot), GET /events (SSE snapshots for `aifd top`), GET /metrics
 * (Prometheus text), GET /report (the usage report, HTML), POST /keys/check, GET|DELETE /cache, GET /healthz.
 */
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { serveWithTlsFiles, type TlsFiles } from '../net/tls-files.js';
import { createHash, timingSafeEqual } from 'node:crypto';
import { AifdError, openAIErrorBody } from '../errors.js';
import type { AdminSource } from './admin-source.js';
import { LiveStats } from './live-stats.js';
import { poolKeyName } from '../keys/snapshot.js';
import { parseTimeArg } from '../util/time-arg.js';

export interface AdminServer {
  listen(): Promise<AddressInfo>;
  /** Reads admin.tls's files again (SIGHUP); a bad pair is refused and the running one stays. */
  reloadTls(): Promise<void>;
  close(): Promise<void>;
}

export interface AdminOptions {
  host: string;
  port: number;
  token: string | undefined;
  /** Serve HTTPS with this certificate and key. */
  tls?: TlsFiles;
  version: string;
}

const LOOPBACK = new Set(['127.0.0.1', '::1', 'localhost']);

function isLoopback(host: string): boolean {
  return LOOPBACK.has(host) || host.startsWith('127.');
}

export function createAdminServer(source: AdminSource, options: AdminOptions): AdminServer {
  if (!options.token && !isLoopback(options.host)) {
    throw new Error(`the admin listener may not bind ${options.host} without admin.token`);
  }
  const expected = options.token ? digest(options.token) : undefined;
  const startedAt = new Date().toISOString();
  const live = new LiveStats();
  source.onRecord((record) => live.add(record));
  const streams = new Set<ServerResponse>();
  const onRequest = (req: IncomingMessage, res: ServerResponse) => {
    handle(req, res).catch((err: Error) => {
      source.log.error('admin request failed', { path: req.url, error: err.message });
      send(res, 500, openAIErrorBody(new AifdError('internal_error', 'the admin request failed')));
    });
  };
  const server = options.tls ? https.createServer(onRequest) : http.createServer(onRequest);
  const reloadTls = async () => {
    if (options.tls) await serveWithTlsFiles(server as https.Server, options.tls, 'admin');
  };

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://admin');
    if (url.pathname === '/healthz') return send(res, 200, JSON.stringify({ status: 'ok' }));
    if (!authorized(req)) {
      return send(
        res,
        401,
        openAIErrorBody(
          new AifdError('invalid_token', 'the admin listener needs "Authorization: Bearer <admin.token>"'),
        ),
      );
    }
    if (req.method === 'GET' && url.pathname === '/state') {
      // ?gc=1: collect garbage first (node runs with --expose-gc), so memory figures show what is held.
      const gc = (globalThis as { gc?: () => void }).gc;
      if (url.searchParams.get('gc') === '1' && gc) gc();
      return send(res, 200, JSON.stringify(await state()));
    }
    if (req.method === 'GET' && url.pathname === '/metrics') {
      const { contentType, text } = await source.metrics();
      res.writeHead(200, { 'content-type': contentType, 'content-length': Buffer.byteLength(text) });
      res.end(text);
      return;
    }
    if (req.method === 'GET' && url.pathname === '/events')
      return streamEvents(res, Number(url.searchParams.get('intervalMs') ?? 1000));
    if (req.method === 'POST' && url.pathname === '/keys/check') {
      const upstream = url.searchParams.get('upstream') ?? undefined;
      const results = await source.checkKeys(upstream);
      if (!results)
        return send(res, 404, openAIErrorBody(new AifdError('route_not_found', `no upstream named "${upstream}"`)));
      return send(res, 200, JSON.stringify({ results }));
    }
    if (url.pathname === '/cache' && (req.method === 'GET' || req.method === 'DELETE')) {
      if (!source.cache)
        return send(res, 404, openAIErrorBody(new AifdError('route_not_found', 'this daemon has no response cache')));
      if (req.method === 'DELETE') await source.cache.clear();
      const [stats, gateway] = await Promise.all([source.cache.stats(), source.gateway()]);
      return send(res, 200, JSON.stringify({ ...stats, counters: gateway.cache }));
    }
    if (req.method === 'GET' && url.pathname === '/report') {
      const since = parseTimeArg(url.searchParams.get('since') ?? '30d');
      if (!since)
        return send(
          res,
          400,
          openAIErrorBody(new AifdError('invalid_request', 'since must be an ISO date or a duration such as 7d')),
        );
      const report = await source.report(since);
      if ('unavailable' in report)
        return send(res, 404, openAIErrorBody(new AifdError('route_not_found', report.unavailable)));
      const { html } = report;
      res.writeHead(200, {
        'content-type': 'text/html; charset=utf-8',
        'content-length': Buffer.byteLength(html),
        'cache-control': 'no-store',
      });
      res.end(html);
      return;
    }
    if (req.method === 'POST' && url.pathname === '/reload') {
      const result = await source.reload();
      if (!result.ok)
        return send(
          res,
          422,
          openAIErrorBody(
            new AifdError('invalid_request', `config reload refused; the running config stays: ${result.error}`),
          ),
        );
      return send(res, 200, JSON.stringify({ reloaded: true, needRestart: result.needRestart }));
    }
    send(
      res,
      404,
      openAIErrorBody(new AifdError('route_not_found', `no admin endpoint ${req.method} ${url.pathname}`)),
    );
  }

  /** SSE: a state snapshot now and then about once a second, until the client leaves. */
  function streamEvents(res: ServerResponse, intervalMs: number): void {
    res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache' });
    const push = () => void state().then((snapshot) => res.write(`data: ${JSON.stringify(snapshot)}\n\n`));
    push();
    const timer = setInterval(push, Math.max(100, Math.min(intervalMs || 1000, 10_000)));
    streams.add(res);
    res.on('close', () => {
      clearInterval(timer);
      streams.delete(res);
    });
  }

  async function state() {
    const totals = live.totals();
    const gateway = await source.gateway();
    // Users nearest their own limits first: the live view's users pane.
    const nearest = await source.nearest(totals.users.map((user) => user.user));
    if (nearest) {
      for (const user of totals.users) Object.assign(user, { nearest: nearest[user.user] ?? null });
      totals.users.sort((a, b) => (b.nearest?.share ?? -1) - (a.nearest?.share ?? -1) || b.requests - a.requests);
    }
    const { process: processFigures, workers, ...rest } = gateway;
    return {
      version: options.version,
      pid: process.pid,
      startedAt,
      ...rest,
      keys: gateway.keys.map((key) => ({
        ...key,
        tokensPerMinute: totals.tokensPerMinuteByKey[poolKeyName(key.upstream, key.hash)] ?? 0,
      })),
      totals,
      process: processFigures,
      ...(workers ? { workers } : {}),
    };
  }

  function authorized(req: IncomingMessage): boolean {
    if (!expected) return true;
    const header = req.headers.authorization ?? '';
    const presented = header.startsWith('Bearer ') ? header.slice(7) : '';
    return timingSafeEqual(digest(presented), expected);
  }

  return {
    reloadTls,
    listen: async () => {
      await reloadTls();
      return new Promise((resolve, reject) => {
        server.once('error', reject);
        server.listen(options.port, options.host, () => {
          server.off('error', reject);
          resolve(server.address() as AddressInfo);
        });
      });
    },
    close: () =>
      new Promise((resolve) => {
        for (const stream of streams) stream.end();
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

/** Equal-length digests, so the comparison takes the same time whatever was presented. */
function digest(text: string): Buffer {
  return createHash('sha256').update(text).digest();
}

function send(res: ServerResponse, status: number, body: string): void {
  res.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(body),
  });
  res.end(body);
}
