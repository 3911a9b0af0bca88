/**
 * Sends a request upstream through http-proxy-3 and relays the answer. Failed attempts (connect
 * errors, timeouts before the first byte, 429 and 5xx answers) are retried on another key while
 * nothing has reached the client yet.
 */
import type { ClientRequest, IncomingMessage, ServerResponse } from 'node:http';
import type { Pacer } from '../limits/pacer.js';
import type { Stream } from 'node:stream';
import { performance } from 'node:perf_hooks';
import { createProxyServer } from 'http-proxy-3';
import { ProxyRefusedError } from '../net/outbound-agent.js';
import { AifdError } from '../errors.js';
import { errorCodeOf, verdictForErrorCode, verdictForStatus, type KeyVerdict } from '../keys/classify.js';
import type { Lease, Outcome, PoolKey } from '../keys/pool.js';
import { parseRateLimitHeaders, parseRetryAfter } from '../keys/ratelimit-headers.js';
import { AnswerTap } from './answer-tap.js';
import { overheadMs, type RequestContext } from './context.js';
import { clientResponseHeaders, outgoingRequestHeaders, rawHeader } from './headers.js';
import { sendError, sseErrorEvent } from './respond.js';
import type { UpstreamRuntime } from './upstreams.js';
import { presentKey, withUpstreamQuery } from '../net/upstream-address.js';
import { withPathModel } from './inspect-body.js';
import { exchangeFromJson } from '../usage/exchange.js';

/** Largest error body read to decide on a retry; error bodies are a few hundred bytes. */
const MAX_ERROR_BODY = 1024 * 1024;
/** Largest JSON answer aifd rewrites (a model list is tens of kilobytes). */
const MAX_REWRITTEN_BODY = 16 * 1024 * 1024;

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

/** Why an upstream did not answer: its last error answer (to replay), or aifd's own error. */
type Failure = { answer: BufferedAnswer; error?: undefined } | { answer?: undefined; error: AifdError };

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
    const attemptStart = performance.now();
    return new Promise((resolve) => {
      let settled = false;
      let proxyReq: ClientRequest | undefined;
      let connectTimer: NodeJS.Timeout | undefined;
      const finish = (result: AttemptResult) => {
        if (settled) return;
        settled = true;
        ctx.outcome.upstreamMs += performance.now() - attemptStart;
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
        () =>
          abort(
            new AifdError(
              'upstream_timeout',
              `upstream "${upstream.config.name}" sent no response within ${firstByteMs} ms`,
            ),
          ),
        firstByteMs,
      );
      hooks.set(req, {
        onProxyReq(request) {
          proxyReq = request;
          const socket = request.socket;
          if (socket?.connecting) {
            connectTimer = setTimeout(
              () =>
                abort(
                  new AifdError(
                    'upstream_timeout',
                    `connecting to upstream "${upstream.config.name}" took longer than ${timeouts.connectMs} ms`,
                  ),
                ),
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
      // From here req.headers are the outgoing headers and carry the pool key: nothing may log or echo them.
      if (key) presentKey(req.headers, upstream.config, key.secret);
      proxy.web(req, res, { target: upstream.target, agent: upstream.agent, buffer: bodySource(ctx.body) }, (err) =>
        finish({ kind: 'failed', error: connectionError(upstream, err as NodeJS.ErrnoException) }),
      );
    });
  }

  /**
   * Tries each target of the request in turn (one, unless routing by model planned a fallback
   * chain) until one answers; only the last failure reaches the client.
   */
  async function forward(ctx: RequestContext): Promise<void> {
    const route = ctx.route!;
    const clientHeaders = ctx.req.headers;
    const clientPath = route.forwardPath;
    const targets = ctx.targets ?? [undefined];
    let failure: Failure | undefined;
    for (const target of targets) {
      const upstream = target?.upstream ?? route.upstream;
      route.upstream = upstream;
      ctx.target = target;
      let path = clientPath;
      if (target) {
        path = aimAt(ctx, clientPath, target.model);
        ctx.outcome.keyHash = undefined;
      }
      ctx.req.url = withUpstreamQuery(upstream.config, path);
      ctx.req.headers = outgoingRequestHeaders(clientHeaders, {
        dropCredentials: !upstream.passThrough,
        bodyLength: ctx.body.length,
        hasBody: ctx.body.length > 0 || hasBodySemantics(ctx.req.method),
        extra: upstream.config.headers,
      });
      // An answer aifd rewrites must arrive uncompressed.
      if (ctx.rewriteJson || ctx.alias) delete ctx.req.headers['accept-encoding'];
      failure = await forwardTo(ctx, upstream);
      if (!failure) return;
    }
    ctx.outcome.ttfbMs = performance.now() - ctx.startedAt;
    if (failure!.answer) {
      sendBuffered(ctx, failure!.answer);
      return;
    }
    const error = failure!.error!;
    ctx.outcome.error = error.code;
    ctx.outcome.status = error.status;
    sendError(ctx.res, ctx.answerHeaders, error);
  }

  /** One upstream, with retries on its other keys; undefined once the client has its answer (or left). */
  async function forwardTo(ctx: RequestContext, upstream: UpstreamRuntime): Promise<Failure | undefined> {
    const tried = new Set<string>();
    let lastAnswer: BufferedAnswer | undefined;
    let lastError: AifdError | undefined;
    const maxAttempts = upstream.config.retries + 1;
    const model = ctx.target?.model ?? ctx.info.model;
    for (let n = 0; n < maxAttempts; n++) {
      let lease: Lease | undefined;
      if (!upstream.passThrough) {
        const waitStart = performance.now();
        try {
          lease = await upstream.queue.acquire({
            model,
            exclude: retryExclusion(upstream, model, tried),
            user: ctx.identity?.user ?? ctx.clientIp,
            signal: ctx.clientGone,
          });
        } catch (err) {
          if (ctx.clientGone.aborted) {
            ctx.outcome.error = 'client_closed';
            return undefined;
          }
          if (!lastAnswer && !lastError) lastError = err as AifdError;
          break;
        } finally {
          ctx.outcome.queueMs += performance.now() - waitStart;
        }
        tried.add(lease.key.hash);
        ctx.outcome.keyHash = lease.key.hash;
      }
      ctx.outcome.attempts++;
      const result = await attempt(ctx, upstream, lease?.key);
      if (result.kind === 'client_gone') {
        release(upstream, lease, undefined);
        ctx.outcome.error = 'client_closed';
        return undefined;
      }
      if (result.kind === 'failed') {
        release(upstream, lease, { verdict: 'unreachable', error: result.error.message });
        lastError = result.error;
        lastAnswer = undefined;
        continue;
      }
      const { response } = result;
      const status = response.statusCode ?? 502;
      // What the upstream says of the key's limits; a pass-through request holds no pool key.
      const rateLimit = lease ? parseRateLimitHeaders(response.headers) : undefined;
      if (isErrorPage(ctx, response)) {
        // An HTML page where the API answers JSON: a proxy or load balancer in front of the upstream failed.
        await readAnswer(response);
        release(upstream, lease, { verdict: 'server_error', error: `${status} with an HTML page` });
        lastError = new AifdError(
          'upstream_bad_response',
          `upstream "${upstream.config.name}" answered with an HTML page instead of the API`,
        );
        lastAnswer = undefined;
        continue;
      }
      if (!isRetryable(status, upstream)) {
        ctx.outcome.ttfbMs = performance.now() - ctx.startedAt;
        const rewrite = answerRewrite(ctx);
        const relayed =
          rewrite && status === 200 && isJson(response)
            ? await relayRewritten(ctx, response, rewrite)
            : await relay(ctx, upstream, response);
        release(upstream, lease, { verdict: relayed.verdict, error: relayed.error, rateLimit });
        return undefined;
      }
      const body = await readAnswer(response);
      if (body === undefined) {
        release(upstream, lease, { verdict: 'server_error', error: `${status} with an unreadable body` });
        lastError = new AifdError(
          'upstream_bad_response',
          `upstream "${upstream.config.name}" sent an unreadable error response`,
        );
        lastAnswer = undefined;
        continue;
      }
      const code = errorCodeOf(body);
      release(upstream, lease, {
        verdict: verdictForStatus(status, code),
        error: code ? `${status} ${code}` : String(status),
        rateLimit,
        retryAfterMs: parseRetryAfter(response.headers, Date.now()),
      });
      lastAnswer = { response, body };
      lastError = undefined;
    }
    // A pool key's 401 is ours to fix, not the client's, and its body names part of the key.
    if (lastAnswer && !(lastAnswer.response.statusCode === 401 && !upstream.passThrough)) return { answer: lastAnswer };
    return {
      error:
        lastError ??
        new AifdError('no_key_available', `no key of upstream "${upstream.config.name}" was accepted by the upstream`, {
          retryAfterSec: 60,
        }),
    };
  }

  return {
    forward,
    close: () => proxy.close(),
  };
}

const NO_KEYS: ReadonlySet<string> = new Set();

/**
 * The held body as http-proxy-3's `buffer` option: it only ever calls `pipe(proxyReq)`, so one
 * `end(body)` does what a PassThrough stream per attempt would, without the stream.
 */
function bodySource(body: Buffer): Stream {
  return { pipe: (destination: NodeJS.WritableStream) => destination.end(body) } as unknown as Stream;
}

/**
 * Points the request at `model` (a fallback or an alias's real model): the JSON body's `model`,
 * or the model in the path. Returns the path to forward.
 */
function aimAt(ctx: RequestContext, clientPath: string, model: string): string {
  const json = ctx.info.json;
  if (json && typeof json.get('model') === 'string') {
    if (json.get('model') !== model) {
      json.set('model', model);
      ctx.body = json.toBuffer();
    }
    return clientPath;
  }
  return withPathModel(clientPath, model);
}

/** What a whole JSON answer goes through before the client sees it, if anything. */
function answerRewrite(ctx: RequestContext): ((body: unknown) => unknown) | undefined {
  const { alias, rewriteJson } = ctx;
  if (!alias) return rewriteJson;
  return (body) => {
    const rewritten = rewriteJson ? rewriteJson(body) : body;
    if (rewritten && typeof rewritten === 'object' && typeof (rewritten as { model?: unknown }).model === 'string') {
      return { ...rewritten, model: alias };
    }
    return rewritten;
  };
}

/**
 * A retry prefers a key not tried yet; when every untried key is further off than one already
 * tried (all cooling), it may wait for a tried key to come back instead.
 */
function retryExclusion(
  upstream: UpstreamRuntime,
  model: string | undefined,
  tried: ReadonlySet<string>,
): ReadonlySet<string> {
  if (tried.size === 0) return tried;
  const untriedAt = upstream.pool.nextAvailableAt(model, tried);
  return untriedAt <= upstream.pool.nextAvailableAt(model, NO_KEYS) ? tried : NO_KEYS;
}

function release(upstream: UpstreamRuntime, lease: Lease | undefined, outcome: Outcome | undefined): void {
  if (lease) upstream.pool.release(lease, outcome);
}

function isRetryable(status: number, upstream: UpstreamRuntime): boolean {
  if (status === 429 || status >= 500) return true;
  return status === 401 && !upstream.passThrough;
}

function isErrorPage(ctx: RequestContext, response: IncomingMessage): boolean {
  return (
    ctx.route!.apiPath.startsWith('/v1/') &&
    (rawHeader(response.rawHeaders, 'content-type') ?? '').startsWith('text/html')
  );
}

function hasBodySemantics(method: string | undefined): boolean {
  return method === 'POST' || method === 'PUT' || method === 'PATCH';
}

function connectionError(upstream: UpstreamRuntime, err: NodeJS.ErrnoException): AifdError {
  if (err instanceof AifdError) return err;
  const name = upstream.config.name;
  if (err instanceof ProxyRefusedError)
    return new AifdError('upstream_unreachable', `upstream "${name}" could not be reached: ${err.message}`, {
      cause: err,
    });
  const reason = (err.code ?? err.message) + (upstream.proxy ? `, through the proxy ${upstream.proxy}` : '');
  return new AifdError('upstream_unreachable', `upstream "${name}" could not be reached (${reason})`, { cause: err });
}

interface Relayed {
  verdict: KeyVerdict;
  error: string | undefined;
}

/** Relays a live upstream answer to the client as it arrives: SSE chunk by chunk, nothing buffered. */
function relay(ctx: RequestContext, upstream: UpstreamRuntime, response: IncomingMessage): Promise<Relayed> {
  const { res } = ctx;
  const status = response.statusCode ?? 502;
  const raw = response.rawHeaders;
  const contentType = rawHeader(raw, 'content-type') ?? '';
  const isEventStream = contentType.startsWith('text/event-stream');
  const pacer = isEventStream && upstream.pacing ? upstream.pacing() : undefined;
  // Nothing reads the answer (no usage, logs, cache or rewrite): no tap at all, the pass-through fast path.
  // Otherwise a tap even for an answer it cannot read (gzip, another type): usage is then estimated.
  const readsAnswer = ctx.wantsAnswer || ctx.injectedUsage || ctx.cacheFill !== undefined || ctx.alias !== undefined;
  const tap = readsAnswer
    ? new AnswerTap(
        tapKind(status, contentType, rawHeader(raw, 'content-encoding')),
        ctx.injectedUsage,
        pacer !== undefined,
        ctx.alias,
      )
    : undefined;
  ctx.exchange = tap?.exchange;
  ctx.outcome.status = status;
  const headers = clientResponseHeaders(raw, ctx.answerHeaders, { poolMode: !upstream.passThrough });
  headers.push(
    'x-aifd-overhead-ms',
    String(overheadMs(ctx, performance.now())),
    'x-aifd-upstream',
    upstream.config.name,
  );
  res.writeHead(status, headers);
  if (isEventStream) res.flushHeaders();

  const idleMs = upstream.config.timeouts.idleMs;
  const result: Relayed = { verdict: verdictForStatus(status), error: undefined };
  return new Promise((resolve) => {
    const idleTimer = setTimeout(onIdle, idleMs);
    function onIdle() {
      const error = new AifdError(
        'upstream_timeout',
        `upstream "${upstream.config.name}" sent nothing for ${idleMs} ms`,
      );
      ctx.outcome.error = error.code;
      result.verdict = 'server_error';
      result.error = 'stream went idle';
      response.destroy(error);
    }
    let ended = false;
    let writing = Promise.resolve();
    // Written by hand rather than piped (pipe adds and removes eight listeners a request): the
    // upstream is paused while the client's socket is full, and resumed when it drains.
    const resume = () => response.resume();
    const send = (data: Buffer | string) => {
      if (!res.write(data)) {
        response.pause();
        res.once('drain', resume);
      }
    };
    response.on('data', (chunk: Buffer) => {
      idleTimer.refresh();
      if (!tap?.rewrites) {
        tap?.observe(chunk);
        send(chunk);
      } else {
        const events = tap.rewrite(chunk);
        if (pacer) {
          // Paced: the upstream waits while the events of this chunk go out one slot at a time.
          response.pause();
          writing = writing
            .then(() => writePaced(res, events, pacer))
            .then(() => {
              idleTimer.refresh();
              if (!ended) response.resume();
            });
        } else if (events.length > 0) {
          send(events.join(''));
        }
      }
      if (!tap) return;
      const code = tap.exchange.streamError;
      if (code !== undefined && result.error === undefined) {
        // An error inside a 200 stream counts against the key like the same error as a status.
        result.verdict = verdictForErrorCode(code);
        result.error = `stream error ${code}`;
        ctx.outcome.error = code;
      }
    });
    response.once('end', () => {
      ended = true;
      tap?.finish();
      if (tap?.rewrites) void writing.then(() => res.end());
      else res.end();
    });
    let clientLeft = false;
    response.once('close', () => {
      clearTimeout(idleTimer);
      // A client that left is not the upstream's fault: the key is not judged for it.
      if (response.complete || res.writableEnded || clientLeft) return;
      // The upstream stopped early. An SSE client gets a parseable error event and a clean end;
      // anything else is cut, so the client cannot mistake a truncated body for a whole one.
      ctx.outcome.error ??= 'upstream_closed_early';
      if (result.verdict === 'ok') {
        result.verdict = 'server_error';
        result.error = 'upstream closed the answer early';
      }
      if (res.destroyed) return;
      if (isEventStream) {
        const error = new AifdError(
          'upstream_bad_response',
          `upstream "${upstream.config.name}" ended the stream early`,
        );
        res.end(sseErrorEvent(error));
      } else {
        res.destroy();
      }
    });
    res.once('close', () => {
      clearTimeout(idleTimer);
      if (!res.writableFinished) {
        clientLeft = true;
        ctx.outcome.error ??= 'client_closed';
        response.destroy();
      }
      resolve(result);
    });
  });
}

async function writePaced(res: ServerResponse, events: string[], pacer: Pacer): Promise<void> {
  for (const event of events) {
    const wait = pacer.delay();
    if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
    if (res.destroyed) return;
    if (!res.write(event)) await new Promise((resolve) => res.once('drain', resolve));
  }
}

function tapKind(
  status: number,
  contentType: string,
  encoding: string | string[] | undefined,
): 'sse' | 'json' | 'none' {
  if (status >= 300 || encoding) return 'none';
  if (contentType.startsWith('text/event-stream')) return 'sse';
  return contentType.startsWith('application/json') ? 'json' : 'none';
}

/** Reads an answer whole (bounded), so it can be judged and, if no retry helps, replayed. */
function readAnswer(response: IncomingMessage, limit = MAX_ERROR_BODY): Promise<Buffer | undefined> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let size = 0;
    response.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) {
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

function isJson(response: IncomingMessage): boolean {
  const raw = response.rawHeaders;
  return (
    (rawHeader(raw, 'content-type') ?? '').startsWith('application/json') &&
    rawHeader(raw, 'content-encoding') === undefined
  );
}

/** Reads a (small) JSON answer whole, rewrites it, and sends the result. */
async function relayRewritten(
  ctx: RequestContext,
  response: IncomingMessage,
  rewrite: (body: unknown) => unknown,
): Promise<Relayed> {
  const body = await readAnswer(response, MAX_REWRITTEN_BODY);
  let out: Buffer | undefined;
  if (body) {
    try {
      const answer: unknown = JSON.parse(body.toString('utf8'));
      ctx.exchange = exchangeFromJson(answer);
      out = Buffer.from(JSON.stringify(rewrite(answer)));
    } catch {
      out = undefined;
    }
  }
  if (!out) {
    sendError(
      ctx.res,
      ctx.answerHeaders,
      new AifdError('upstream_bad_response', 'the upstream answer could not be read'),
    );
    ctx.outcome.status = 502;
    return { verdict: 'server_error', error: 'unreadable JSON answer' };
  }
  sendBuffered(ctx, { response, body: out });
  return { verdict: 'ok', error: undefined };
}

function sendBuffered(ctx: RequestContext, answer: BufferedAnswer): void {
  const status = answer.response.statusCode ?? 502;
  ctx.outcome.status = status;
  const headers = clientResponseHeaders(answer.response.rawHeaders, ctx.answerHeaders, {
    poolMode: !ctx.route!.upstream.passThrough,
    dropLength: true,
  });
  headers.push(
    'content-length',
    String(answer.body.length),
    'x-aifd-overhead-ms',
    String(overheadMs(ctx, performance.now())),
    'x-aifd-upstream',
    ctx.route!.upstream.config.name,
  );
  ctx.res.writeHead(status, headers);
  ctx.res.end(answer.body);
}
