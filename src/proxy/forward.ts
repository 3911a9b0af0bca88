/**
 * Where a request goes and how often: each target in turn (routing by model), each with retries on
 * the upstream's other keys. Failed attempts (connect errors, timeouts before the first byte, 429
 * and 5xx answers) are retried while nothing has reached the client yet; the answer that ends it
 * is relayed live (relay.ts) or read whole (buffered-answer.ts), and the key is told how it did.
 */
import { performance } from 'node:perf_hooks';
import type { IncomingMessage } from 'node:http';
import { AifdError } from '../errors.js';
import { errorCodeOf, verdictForStatus } from '../keys/classify.js';
import type { Lease, Outcome } from '../keys/pool.js';
import { parseRateLimitHeaders, parseRetryAfter } from '../keys/ratelimit-headers.js';
import { withUpstreamQuery } from '../net/upstream-address.js';
import { createAttempts } from './attempt.js';
import { isJson, readAnswer, relayRewritten, sendBuffered, sendRead, type BufferedAnswer } from './buffered-answer.js';
import type { OpenSessions } from './open-sessions.js';
import { runSession } from './ws-session.js';
import type { RequestContext } from './context.js';
import { rawHeader } from './headers.js';
import { aimAt, answerRewrite, upstreamHeaders } from './aim.js';
import { relay } from './relay.js';
import { answerError } from './respond.js';
import type { UpstreamRuntime } from './upstreams.js';
import type { AttemptTrace } from '../telemetry/telemetry.js';

type Failure = { answer: BufferedAnswer; error?: undefined } | { answer?: undefined; error: AifdError };

export interface Forwarder {
  forward(ctx: RequestContext): Promise<void>;
  close(): void;
}

export function createForwarder(sessions: OpenSessions): Forwarder {
  const { attempt, close } = createAttempts();
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
      ctx.upstream = upstream;
      ctx.target = target;
      let path = clientPath;
      if (target) {
        path = aimAt(ctx, clientPath, target.model);
        ctx.outcome.keyHash = undefined;
      }
      ctx.req.url = withUpstreamQuery(upstream.config, path);
      ctx.req.headers = upstreamHeaders(ctx, clientHeaders, upstream);
      failure = await forwardTo(ctx, upstream);
      if (!failure) return;
    }
    ctx.outcome.ttfbMs = performance.now() - ctx.startedAt;
    if (failure!.answer) {
      sendBuffered(ctx, failure!.answer);
      return;
    }
    answerError(ctx, failure!.error!);
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
          const waitEnd = performance.now();
          ctx.outcome.queueMs += waitEnd - waitStart;
          ctx.trace?.queued(waitStart, waitEnd);
        }
        tried.add(lease.key.hash);
        ctx.outcome.keyHash = lease.key.hash;
      }
      ctx.outcome.attempts++;
      const traced = traceAttempt(ctx, upstream, model, lease);
      const result = await attempt(ctx, upstream, lease?.key);
      /** The key is told how the attempt did, and its span ends. */
      const settle = (outcome: Outcome | undefined, status?: number, error = outcome?.error) => {
        release(upstream, lease, outcome);
        traced?.end(status, error);
      };
      if (result.kind === 'client_gone') {
        settle(undefined, undefined, 'client_closed');
        ctx.outcome.error = 'client_closed';
        return undefined;
      }
      if (result.kind === 'failed') {
        settle({ verdict: 'unreachable', error: result.error.message }, undefined, result.error.code);
        lastError = result.error;
        lastAnswer = undefined;
        continue;
      }
      if (result.kind === 'upgraded') {
        ctx.outcome.ttfbMs = performance.now() - ctx.startedAt;
        settle(await runSession(ctx, upstream, result.leg, sessions), 101);
        return undefined;
      }
      const { response } = result;
      const status = response.statusCode ?? 502;
      // A refused handshake's body is read as it arrives; an HTTP answer's when it is needed.
      const readBody = () => result.body ?? readAnswer(response);
      // What the upstream says of the key's limits; a pass-through request holds no pool key.
      const rateLimit = lease ? parseRateLimitHeaders(response.headers) : undefined;
      if (isErrorPage(ctx, response)) {
        // An HTML page where the API answers JSON: a proxy or load balancer in front of the upstream failed.
        await readBody();
        settle({ verdict: 'server_error', error: `${status} with an HTML page` }, status);
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
        const relayed = result.body
          ? sendRead(ctx, response, await result.body)
          : rewrite && status === 200 && isJson(response)
            ? await relayRewritten(ctx, response, rewrite)
            : await relay(ctx, upstream, response);
        settle({ verdict: relayed.verdict, error: relayed.error, rateLimit }, status);
        if (!relayed.unanswered) return undefined;
        ctx.outcome.error = undefined;
        lastError = relayed.unanswered;
        lastAnswer = undefined;
        continue;
      }
      const body = await readBody();
      if (body === undefined) {
        settle({ verdict: 'server_error', error: `${status} with an unreadable body` }, status);
        lastError = new AifdError(
          'upstream_bad_response',
          `upstream "${upstream.config.name}" sent an unreadable error response`,
        );
        lastAnswer = undefined;
        continue;
      }
      const code = errorCodeOf(body);
      settle(
        {
          verdict: verdictForStatus(status, code),
          error: code ? `${status} ${code}` : String(status),
          rateLimit,
          retryAfterMs: parseRetryAfter(response.headers, Date.now()),
        },
        status,
      );
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

  return { forward, close };
}

const NO_KEYS: ReadonlySet<string> = new Set();

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

/** The attempt's span, when tracing; the upstream is sent its trace context (replacing the client's). */
function traceAttempt(
  ctx: RequestContext,
  upstream: UpstreamRuntime,
  model: string | undefined,
  lease: Lease | undefined,
): AttemptTrace | undefined {
  if (!ctx.trace) return undefined;
  const traced = ctx.trace.attempt({
    upstream: upstream.config.name,
    baseUrl: upstream.config.baseUrl,
    keyHash: lease?.key.hash,
    model,
    attempt: ctx.outcome.attempts,
    api: ctx.api,
    provider: upstream.config.api,
  });
  ctx.req.headers.traceparent = traced.traceparent;
  if (traced.tracestate) ctx.req.headers.tracestate = traced.tracestate;
  else delete ctx.req.headers.tracestate;
  return traced;
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
