/**
 * Upstream answers read whole before the client sees them: error bodies (to decide on a retry, and
 * replayed if no retry succeeds) and JSON answers aifd rewrites (the filtered model list, an
 * alias's model name).
 */
import type { IncomingMessage } from 'node:http';
import { AifdError } from '../errors.js';
import { readBounded } from '../net/read-bounded.js';
import { exchangeFromJson } from '../usage/exchange.js';
import { verdictForStatus } from '../keys/classify.js';
import type { RequestContext } from './context.js';
import { rawHeader } from './headers.js';
import { answerError, startRelayedAnswer } from './respond.js';
import type { Relayed } from './relay.js';

/** Largest error body read to decide on a retry; error bodies are a few hundred bytes. */
const MAX_ERROR_BODY = 1024 * 1024;
/** Largest JSON answer aifd rewrites (a model list is tens of kilobytes). */
const MAX_REWRITTEN_BODY = 16 * 1024 * 1024;

/** Why an upstream did not answer: its last error answer (to replay), or aifd's own error. */

/** An upstream answer already read whole (an error body), kept in case no retry succeeds. */
export interface BufferedAnswer {
  response: IncomingMessage;
  body: Buffer;
}

export async function readAnswer(response: IncomingMessage, limit = MAX_ERROR_BODY): Promise<Buffer | undefined> {
  const read = await readBounded(response, limit, 'destroy');
  return read.kind === 'whole' ? read.body : undefined;
}

export function isJson(response: IncomingMessage): boolean {
  const raw = response.rawHeaders;
  return (
    (rawHeader(raw, 'content-type') ?? '').startsWith('application/json') &&
    rawHeader(raw, 'content-encoding') === undefined
  );
}

/** Reads a (small) JSON answer whole, rewrites it, and sends the result. */
export async function relayRewritten(
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
  return sendRead(ctx, response, out, 'unreadable JSON answer');
}

/**
 * Sends an answer already read whole (a rewritten JSON answer, a refused WebSocket handshake's), or
 * aifd's 502 when it could not be read (`unreadable` is what the key is told then).
 */
export function sendRead(
  ctx: RequestContext,
  response: IncomingMessage,
  body: Buffer | undefined,
  unreadable = 'unreadable answer',
): Relayed {
  if (!body) {
    answerError(ctx, new AifdError('upstream_bad_response', 'the upstream answer could not be read'));
    return { verdict: 'server_error', error: unreadable };
  }
  sendBuffered(ctx, { response, body });
  return { verdict: verdictForStatus(response.statusCode ?? 502), error: undefined };
}

export function sendBuffered(ctx: RequestContext, answer: BufferedAnswer): void {
  startRelayedAnswer(ctx, answer.response, answer.body.length);
  ctx.res.end(answer.body);
}
