import type { OutgoingHttpHeaders, ServerResponse } from 'node:http';
import { type AifdError, openAIErrorBody } from '../errors.js';
import type { RequestContext } from './context.js';

/** aifd's own error as the request's answer: recorded as its status and error, then written. */
export function answerError(ctx: RequestContext, error: AifdError): void {
  ctx.outcome.status = error.status;
  ctx.outcome.error = error.code;
  sendError(ctx.res, ctx.answerHeaders, error);
}

/** aifd's own JSON answer to the request (health, the model list it builds), recorded as its status. */
export function answerJson(ctx: RequestContext, status: number, payload: unknown): void {
  ctx.outcome.status = status;
  sendJson(ctx.res, ctx.answerHeaders, status, payload);
}

/**
 * The only writer of aifd's own error responses: always OpenAI-shaped, never a stack trace.
 * `answerHeaders` are the request's own (its id, the caller's limits, …).
 */
export function sendError(res: ServerResponse, answerHeaders: OutgoingHttpHeaders, err: AifdError): void {
  if (res.headersSent || res.destroyed) {
    if (!res.writableEnded) res.destroy();
    return;
  }
  const body = openAIErrorBody(err);
  const headers: OutgoingHttpHeaders = {
    ...answerHeaders,
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(body),
    ...err.headers,
  };
  if (err.retryAfterSec !== undefined) headers['retry-after'] = String(Math.max(1, Math.ceil(err.retryAfterSec)));
  res.writeHead(err.status, headers);
  res.end(body);
}

function sendJson(res: ServerResponse, answerHeaders: OutgoingHttpHeaders, status: number, payload: unknown): void {
  const body = JSON.stringify(payload);
  res.writeHead(status, {
    ...answerHeaders,
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(body),
  });
  res.end(body);
}

/** An error event inside an SSE stream whose headers already went out, in the shape SDKs raise. */
export function sseErrorEvent(err: AifdError): string {
  return `data: ${openAIErrorBody(err)}\n\n`;
}
