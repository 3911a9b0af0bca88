/**
 * The one place a request's answer is started: aifd's own answers (errors, health, model lists,
 * cache hits) and relayed upstream answers alike record their status here as they write the head.
 */
import type { IncomingMessage, OutgoingHttpHeaders } from 'node:http';
import { anthropicErrorBody, type AifdError, errorBodyFor, openAIErrorBody } from '../errors.js';
import { overheadMs, type RequestContext } from './context.js';
import { clientResponseHeaders, describesPoolKey } from './headers.js';

/** aifd's own error as the request's answer: recorded as its status and error, then written. */
export function answerError(ctx: RequestContext, error: AifdError): void {
  ctx.outcome.error = error.code;
  const { res } = ctx;
  if (res.headersSent || res.destroyed) {
    ctx.outcome.status = error.status;
    if (!res.writableEnded) res.destroy();
    return;
  }
  // In the shape of the API the client speaks, never a stack trace; the request's own headers (its id, the caller's limits) kept.
  const body = errorBodyFor(ctx.route?.api ?? 'openai', error);
  const headers: OutgoingHttpHeaders = {
    ...ctx.answerHeaders,
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(body),
    ...error.headers,
  };
  if (error.retryAfterSec !== undefined) headers['retry-after'] = String(Math.max(1, Math.ceil(error.retryAfterSec)));
  startAnswer(ctx, error.status, headers);
  res.end(body);
}

/** Starts the request's answer: records its status, then writes the head. */
export function startAnswer(ctx: RequestContext, status: number, headers: OutgoingHttpHeaders | string[]): void {
  ctx.outcome.status = status;
  ctx.res.writeHead(status, headers);
}

/**
 * Starts the client's answer with an upstream answer's head: its headers as the client may see them
 * (hop-by-hop and upstream-only ones dropped), the request's own, and aifd's overhead and upstream.
 */
export function startRelayedAnswer(ctx: RequestContext, response: IncomingMessage, length?: number): void {
  const upstream = ctx.upstream!;
  const headers = clientResponseHeaders(response.rawHeaders, ctx.answerHeaders, {
    poolMode: !upstream.passThrough,
    dropLength: length !== undefined,
  });
  if (length !== undefined) headers.push('content-length', String(length));
  headers.push(
    'x-aifd-overhead-ms',
    String(overheadMs(ctx, performance.now())),
    'x-aifd-upstream',
    upstream.config.name,
  );
  startAnswer(ctx, response.statusCode ?? 502, headers);
}

/**
 * Records a WebSocket handshake the upstream accepted (101) and makes its head the client's: the
 * upstream's headers less what describes a pool key or another hop, plus the request's own. The
 * head itself is written by http-proxy-3 from these headers.
 */
export function startUpgradedAnswer(ctx: RequestContext, response: IncomingMessage): void {
  ctx.outcome.status = 101;
  const upstream = ctx.upstream!;
  const headers = response.headers;
  for (const name of Object.keys(headers)) {
    if (name.startsWith('x-aifd-') || (!upstream.passThrough && describesPoolKey(name))) delete headers[name];
  }
  for (const [name, value] of Object.entries(ctx.answerHeaders)) {
    if (name !== 'connection' && value !== undefined) headers[name] = String(value);
  }
  headers['x-aifd-upstream'] = upstream.config.name;
}

/** aifd's own JSON answer to the request (health, the model list it builds), recorded as its status. */
export function answerJson(ctx: RequestContext, status: number, payload: unknown): void {
  const body = JSON.stringify(payload);
  startAnswer(ctx, status, {
    ...ctx.answerHeaders,
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(body),
  });
  ctx.res.end(body);
}

/**
 * An error event inside an SSE stream whose headers already went out, in the shape SDKs raise:
 * OpenAI's `data:` line with an error body, or Anthropic's `error` event.
 */
export function sseErrorEvent(ctx: RequestContext, err: AifdError): string {
  if (ctx.route?.api === 'anthropic') return `event: error\ndata: ${anthropicErrorBody(err)}\n\n`;
  return `data: ${openAIErrorBody(err)}\n\n`;
}
