/**
 * An upstream answer relayed live to the client as it comes: chunk by chunk with backpressure,
 * paced when a stream rate is set, read on the way for usage (the answer tap); an upstream that
 * breaks off mid-answer ends a stream with an error event.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { AifdError } from '../errors.js';
import { verdictForErrorCode, verdictForStatus, type KeyVerdict } from '../keys/classify.js';
import type { Pacer } from '../limits/pacer.js';
import { AnswerTap } from './answer-tap.js';
import type { RequestContext } from './context.js';
import { rawHeader } from './headers.js';
import { sseErrorEvent, startRelayedAnswer } from './respond.js';
import type { UpstreamRuntime } from './upstreams.js';

export interface Relayed {
  verdict: KeyVerdict;
  error: string | undefined;
  /**
   * The upstream failed before any byte reached the client (its body never came): nothing was
   * written, and the attempt may be retried like one that timed out before its headers.
   */
  unanswered?: AifdError;
}

/** Relays a live upstream answer to the client as it arrives: SSE chunk by chunk, nothing buffered. */
export function relay(ctx: RequestContext, upstream: UpstreamRuntime, response: IncomingMessage): Promise<Relayed> {
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
  // A stream's head goes out at once; any other answer's with its first byte, so that an upstream
  // that sends headers and then nothing still gets an OpenAI-shaped 504 instead of a cut connection.
  let headWritten = false;
  const writeHead = () => {
    if (headWritten) return;
    headWritten = true;
    startRelayedAnswer(ctx, response);
  };
  if (isEventStream) {
    writeHead();
    res.flushHeaders();
  }

  const idleMs = upstream.config.timeouts.idleMs;
  const result: Relayed = { verdict: verdictForStatus(status), error: undefined };
  return new Promise((resolve) => {
    let wentIdle = false;
    const idleTimer = setTimeout(onIdle, idleMs);
    function onIdle() {
      wentIdle = true;
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
      writeHead();
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
      writeHead();
      tap?.finish();
      if (tap?.rewrites) void writing.then(() => res.end());
      else res.end();
    });
    let clientLeft = false;
    response.once('close', () => {
      clearTimeout(idleTimer);
      // A client that left is not the upstream's fault: the key is not judged for it.
      if (response.complete || res.writableEnded || clientLeft) return;
      if (!headWritten && !res.destroyed) {
        resolve(unanswered(wentIdle, upstream.config.name, idleMs));
        return;
      }
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
        res.end(sseErrorEvent(ctx, error));
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

/** The body never came: the attempt failed as one that timed out (or broke off) before its headers. */
function unanswered(timedOut: boolean, upstream: string, idleMs: number): Relayed {
  return {
    verdict: timedOut ? 'unreachable' : 'server_error',
    error: timedOut ? 'no body after its headers' : 'upstream closed before its body',
    unanswered: timedOut
      ? new AifdError('upstream_timeout', `upstream "${upstream}" sent its headers and then nothing for ${idleMs} ms`)
      : new AifdError('upstream_bad_response', `upstream "${upstream}" closed the connection before its body`),
  };
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
