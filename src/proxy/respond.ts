import type { OutgoingHttpHeaders, ServerResponse } from 'node:http';
import { type AifdError, openAIErrorBody } from '../errors.js';

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

export function sendJson(
  res: ServerResponse,
  answerHeaders: OutgoingHttpHeaders,
  status: number,
  payload: unknown,
): void {
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
