/**
 * Sends a request upstream through http-proxy-3 and relays the answer. Failed attempts (connect
 * errors, timeouts before the first byte, 429 and 5xx answers) are retried on another key while
 * nothing has reached the client yet.
 */
import type { ClientRequest, IncomingMessage } from 'node:http';
import { PassThrough } from 'node:stream';
import { performance } from 'node:perf_hooks';
import { createProxyServer } from 'http-proxy-3';
import { AifdError } from '../errors.js';
import type { PoolKey } from '../keys/pool.js';
import type { RequestContext } from './context.js';
import { clientResponseHeaders, outgoingRequestHeaders } from './headers.js';
import { sendError, sseErrorEvent } from './respond.js';
import type { UpstreamRuntime } from './upstreams.js';

/** Largest error body read to decide on a retry; error bodies are a few hundred bytes. */
const MAX_ERROR_BODY = 1024 * 1024;

type AttemptResult =
  | { kind: 'response'; response: IncomingMessage }
  | { kind: 'failed'; error: AifdError }
  | { kind: 'client_gone' };

interface AttemptHooks {
  onProxyReq(proxyReq: ClientRequest): void;
  onResponse(response: IncomingMessage): void;
}

/** An upstream answer already read whole (an error body), kept in case no retry succeeds. */
interface BufferedAnswer {
  response: IncomingMessage;
  body: Buffer;
}

export interface Forwarder {
  forward(ctx: RequestContext): Promise<void>;
  close(): void;
}

export function createForwarder(): Forwarder {
  const proxy = createProxyServer({ xfwd: true, changeOrigin: true, selfHandleResponse: true });
  const hooks = new WeakMap<IncomingMessage, AttemptHooks>();
  proxy.on('proxyReq', (proxyReq, req) => hooks.get(req)?.onProxyReq(proxyReq));
  proxy.on('proxyRes', (response, req) => hooks.get(req)?.onResponse(response));
  // Without a callback http-proxy-3 would emit 'error'; every call passes one, this is a backstop.
  proxy.on('error', () => undefined);
  proxy.on('econnreset', () => undefined);

  function attempt(ctx: RequestContext, upstream: UpstreamRuntime, key: PoolKey | undefined): Promise<AttemptResult> {
    const { req, res } = ctx;
    const timeouts = upstream.config.timeouts;
    return new Promise((resolve) => {
      let settled = false;
      let proxyReq: ClientRequest | undefined;
      let connectTimer: NodeJS.Timeout | undefined;
      const finish = (result: AttemptResult) => {
        if (settled) return;
        settled = true;
        clearTimeout(firstByteTimer);
        clearTimeout(connectTimer);
        res.off('close', onClientGone);
        hooks.delete(req);
        resolve(result);
      };
      const abort = (error: AifdError) => {
        proxyReq?.destroy(error);
        finish({ kind: 'failed', error });
      };
      const onClientGone = () => {
        proxyReq?.destroy();
        finish({ kind: 'client_gone' });
      };
      const firstByteMs = ctx.info.stream ? timeouts.streamFirstByteMs : timeouts.firstByteMs;
      const firstByteTimer = setTimeout(
        () => abort(new AifdError('upstream_timeout', `upstream "${upstream.config.name}" sent no response within ${firstByteMs} ms`)),
        firstByteMs,
      );
      hooks.set(req, {
        onProxyReq(request) {
          proxyReq = request;
          const socket = request.socket;
          if (socket?.connecting) {
            connectTimer = setTimeout(
              () => abort(new AifdError('upstream_timeout', `connecting to upstream "${upstream.config.name}" took longer than ${timeouts.connectMs} ms`)),
              timeouts.connectMs,
            );
            socket.once('connect', () => clearTimeout(connectTimer));
          }
        },
        onResponse(response) {
          finish({ kind: 'response', response });
        },
      });
      res.once('close', onClientGone);
      const bodyStream = new PassThrough();
      bodyStream.end(ctx.body);
      proxy.web(
        req,
        res,
        {
          target: upstream.target,
          agent: upstream.agent,
          buffer: bodyStream,
          headers: key ? { authorization: `Bearer ${key.secret}` } : {},
        },
        (err) => finish({ kind: 'failed', error: connectionError(upstream, err as NodeJS.ErrnoException) }),
      );
    });
  }

  async function forward(ctx: RequestContext): Promise<void> {
    const route = ctx.route!;
    const { upstream } = route;
    ctx.req.url = route.forwardPath;
    ctx.req.headers = outgoingRequestHeaders(ctx.req.headers, {
      dropCredentials: !upstream.passThrough,
      bodyLength: ctx.body.length,
      hasBody: ctx.body.length > 0 || hasBodySemantics(ctx.req.method),
      extra: upstream.config.headers,
    });

    const tried = new Set<string>();
    let lastAnswer: BufferedAnswer | undefined;
    let lastError: AifdError | undefined;
    const maxAttempts = upstream.config.retries + 1;
    for (let n = 0; n < maxAttempts; n++) {
      let key: PoolKey | undefined;
      if (!upstream.passThrough) {
        key = upstream.pool.pick(tried);
        if (!key) break;
        tried.add(key.hash);
        ctx.outcome.keyHash = key.hash;
      }
      ctx.outcome.attempts = n + 1;
      const result = await attempt(ctx, upstream, key);
      if (result.kind === 'client_gone') {
        ctx.outcome.error = 'client_closed';
        return;
      }
      if (result.kind === 'failed') {
        lastError = result.error;
        lastAnswer = undefined;
        continue;
      }
      const { response } = result;
      if (!isRetryable(response.statusCode ?? 502, upstream)) {
        ctx.outcome.ttfbMs = performance.now() - ctx.startedAt;
        await relay(ctx, upstream, response);
        return;
      }
      const body = await readAnswer(response);
      if (body === undefined) {
        lastError = new AifdError('upstream_bad_response', `upstream "${upstream.config.name}" sent an unreadable error response`);
        lastAnswer = undefined;
        continue;
      }
      lastAnswer = { response, body };
      lastError = undefined;
    }

    if (lastAnswer) {
      ctx.outcome.ttfbMs = performance.now() - ctx.startedAt;
      sendBuffered(ctx, lastAnswer);
      return;
    }
    const error = lastError ?? new AifdError('no_key_available', `no key of upstream "${upstream.config.name}" is available`, { retryAfterSec: 1 });
    ctx.outcome.error = error.code;
    ctx.outcome.status = error.status;
    sendError(ctx.res, ctx.id, error);
  }

  return {
    forward,
    close: () => proxy.close(),
  };
}

function isRetryable(status: number, upstream: UpstreamRuntime): boolean {
  if (status === 429 || status >= 500) return true;
  return status === 401 && !upstream.passThrough;
}

function hasBodySemantics(method: string | undefined): boolean {
  return method === 'POST' || method === 'PUT' || method === 'PATCH';
}

function connectionError(upstream: UpstreamRuntime, err: NodeJS.ErrnoException): AifdError {
  if (err instanceof AifdError) return err;
  const name = upstream.config.name;
  const reason = err.code ?? err.message;
  return new AifdError('upstream_unreachable', `upstream "${name}" could not be reached (${reason})`, { cause: err });
}

/** Relays a live upstream answer to the client as it arrives: SSE chunk by chunk, nothing buffered. */
function relay(ctx: RequestContext, upstream: UpstreamRuntime, response: IncomingMessage): Promise<void> {
  const { res } = ctx;
  const status = response.statusCode ?? 502;
  const isEventStream = (response.headers['content-type'] ?? '').startsWith('text/event-stream');
  ctx.outcome.status = status;
  res.writeHead(status, clientResponseHeaders(response.headers, ctx.id));
  if (isEventStream) res.flushHeaders();

  const idleMs = upstream.config.timeouts.idleMs;
  return new Promise((resolve) => {
    let idleTimer = setTimeout(onIdle, idleMs);
    function onIdle() {
      const error = new AifdError('upstream_timeout', `upstream "${upstream.config.name}" sent nothing for ${idleMs} ms`);
      ctx.outcome.error = error.code;
      response.destroy(error);
    }
    response.on('data', () => {
      idleTimer.refresh();
    });
    response.once('close', () => {
      clearTimeout(idleTimer);
      if (response.complete || res.writableEnded) return;
      // The upstream stopped early. An SSE client gets a parseable error event and a clean end;
      // anything else is cut, so the client cannot mistake a truncated body for a whole one.
      ctx.outcome.error ??= 'upstream_closed_early';
      if (res.destroyed) return;
      if (isEventStream) {
        const error = new AifdError('upstream_bad_response', `upstream "${upstream.config.name}" ended the stream early`);
        res.end(sseErrorEvent(error));
      } else {
        res.destroy();
      }
    });
    res.once('close', () => {
      clearTimeout(idleTimer);
      if (!res.writableFinished) {
        ctx.outcome.error ??= 'client_closed';
        response.destroy();
      }
      resolve();
    });
    response.pipe(res);
  });
}

/** Reads an error answer whole (bounded), so it can be judged and, if no retry helps, replayed. */
function readAnswer(response: IncomingMessage): Promise<Buffer | undefined> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let size = 0;
    response.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_ERROR_BODY) {
        response.destroy();
        resolve(undefined);
        return;
      }
      chunks.push(chunk);
    });
    response.once('end', () => resolve(Buffer.concat(chunks, size)));
    response.once('error', () => resolve(undefined));
    response.once('close', () => {
      if (!response.complete) resolve(undefined);
    });
  });
}

function sendBuffered(ctx: RequestContext, answer: BufferedAnswer): void {
  const status = answer.response.statusCode ?? 502;
  ctx.outcome.status = status;
  const headers = clientResponseHeaders(answer.response.headers, ctx.id);
  headers['content-length'] = answer.body.length;
  ctx.res.writeHead(status, headers);
  ctx.res.end(answer.body);
}
