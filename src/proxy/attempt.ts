/**
 * One attempt at an upstream through http-proxy-3 (`web()`, or `ws()` for a WebSocket handshake):
 * the held body sent with the pool key, and the timers for connecting and for the first byte.
 * Resolves with the upstream's response (its body still to read), an accepted handshake, a
 * failure, or the client gone; never throws.
 */
import type { ClientRequest, IncomingMessage } from 'node:http';
import { performance } from 'node:perf_hooks';
import type { Stream } from 'node:stream';
import { createProxyServer } from 'http-proxy-3';
import { AifdError } from '../errors.js';
import type { PoolKey } from '../keys/pool.js';
import { ProxyRefusedError } from '../net/outbound-agent.js';
import { presentKey } from '../net/upstream-address.js';
import type { RequestContext } from './context.js';
import type { UpstreamRuntime } from './upstreams.js';
import { readAnswer } from './buffered-answer.js';
import { ClientLeg } from './client-leg.js';
import { startUpgradedAnswer } from './respond.js';

/** The client's bytes after its handshake go through the leg, not as http-proxy-3's `head`. */
const NO_HEAD = Buffer.alloc(0);

type AttemptResult =
  /** An answer; for a refused WebSocket handshake its body is already being read (`body`). */
  | { kind: 'response'; response: IncomingMessage; body?: Promise<Buffer | undefined> }
  /** A WebSocket handshake the upstream accepted: the session runs through `leg`. */
  | { kind: 'upgraded'; response: IncomingMessage; leg: ClientLeg }
  | { kind: 'failed'; error: AifdError }
  | { kind: 'client_gone' };

interface AttemptHooks {
  onProxyReq(proxyReq: ClientRequest): void;
  onResponse(response: IncomingMessage): void;
}

export interface Attempts {
  attempt(ctx: RequestContext, upstream: UpstreamRuntime, key: PoolKey | undefined): Promise<AttemptResult>;
  close(): void;
}

export function createAttempts(): Attempts {
  const proxy = createProxyServer({ xfwd: true, changeOrigin: true, selfHandleResponse: true });
  const hooks = new WeakMap<IncomingMessage, AttemptHooks>();
  proxy.on('proxyReq', (proxyReq, req) => hooks.get(req)?.onProxyReq(proxyReq));
  proxy.on('proxyRes', (response, req) => hooks.get(req)?.onResponse(response));
  proxy.on('proxyReqWs', (proxyReq, req) => hooks.get(req)?.onProxyReq(proxyReq));
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
      const leg = ctx.upgrade ? new ClientLeg() : undefined;
      hooks.set(req, {
        onProxyReq(request) {
          proxyReq = request;
          if (leg) {
            // Ahead of http-proxy-3's own listeners: a refusal is read here and kept from the client.
            request.prependListener('response', (response: IncomingMessage) => {
              const body = readAnswer(response);
              leg.destroy();
              finish({ kind: 'response', response, body });
            });
            request.prependListener('upgrade', (response: IncomingMessage) => {
              startUpgradedAnswer(ctx, response);
              finish({ kind: 'upgraded', response, leg });
            });
          }
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
      const failed = (err: Error) =>
        finish({ kind: 'failed', error: connectionError(upstream, err as NodeJS.ErrnoException) });
      if (leg) {
        proxy.ws(req, leg, NO_HEAD, { target: upstream.target, agent: upstream.agent }, failed);
        return;
      }
      proxy.web(req, res, { target: upstream.target, agent: upstream.agent, buffer: bodySource(ctx.body) }, failed);
    });
  }

  return { attempt, close: () => proxy.close() };
}

/**
 * The held body as http-proxy-3's `buffer` option: it only ever calls `pipe(proxyReq)`, so one
 * `end(body)` does what a PassThrough stream per attempt would, without the stream.
 */
function bodySource(body: Buffer): Stream {
  return { pipe: (destination: NodeJS.WritableStream) => destination.end(body) } as unknown as Stream;
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
