import type { ServerResponse } from 'node:http';
import { AifdError, openAIErrorBody } from '../errors.js';

/** The only writer of aifd's own error responses: always OpenAI-shaped, never a stack trace. */
export function sendError(res: ServerResponse, requestId: string, err: AifdError): void {
  if (res.headersSent || res.destroyed) {
    if (!res.writableEnded) res.destroy();
    return;
  }
  const body = openAIErrorBody(err);
  const headers: Record<string, string | number> = {
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(body),
    'x-aifd-request-id': requestId,
    ...err.headers,
  };
  if (err.retryAfterSec !== undefined) headers['retry-after'] = String(Math.max(1, Math.ceil(err.retryAfterSec)));
  res.writeHead(err.status, headers);
  res.end(body);
}

export function sendJson(res: ServerResponse, requestId: string, status: number, payload: unknown): void {
  const body = JSON.stringify(payload);
  res.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(body),
    'x-aifd-request-id': requestId,
  });
  res.end(body);
}

/** An error event inside an SSE stream whose headers already went out, in the shape SDKs raise. */
export function sseErrorEvent(err: AifdError): string {
  return `data: ${openAIErrorBody(err)}\n\n`;
}
