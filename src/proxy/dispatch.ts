/**
 * One request, from arrival to its last record: its context is made, the stages run in order, a
 * stage's error becomes an OpenAI-shaped answer, and the finishers run, whatever happened.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { performance } from 'node:perf_hooks';
import { AifdError, isAifdError } from '../errors.js';
import { requestId } from '../util/request-id.js';
import type { ActiveRequests } from './active-requests.js';
import { clientAddress } from './client-address.js';
import { clientGoneSignal } from './client-gone.js';
import { newOutcome, type RequestContext, type UpgradeRequest } from './context.js';
import { FINISHERS, type FinisherDeps } from './finishers.js';
import { NO_BODY } from './inspect-body.js';
import { answerError } from './respond.js';
import { STAGES } from './stages.js';
import type { HubConfig } from '../config/schema.js';

export interface DispatchDeps {
  /** What the stages and finishers read: the hub as it is when the request arrives. */
  readonly hub: FinisherDeps;
  readonly active: ActiveRequests<RequestContext>;
  isShuttingDown(): boolean;
  /** Whether anything reads answers (see readsAnswers). */
  wantsAnswer(): boolean;
  /** After a request's last finisher: for retiring upstreams and draining on shutdown. */
  onFinished(): void;
}

const EMPTY_BODY = Buffer.alloc(0);

/** Handles one request; a WebSocket handshake comes with its socket (`upgrade`), answered on it. */
export type Dispatch = (req: IncomingMessage, res: ServerResponse, upgrade?: UpgradeRequest) => Promise<void>;

export function createDispatch(deps: DispatchDeps): Dispatch {
  const { hub, active } = deps;

  function newContext(req: IncomingMessage, res: ServerResponse, upgrade: UpgradeRequest | undefined): RequestContext {
    const id = requestId();
    const startedAt = performance.now();
    return {
      id,
      startedAt,
      req,
      res,
      clientIp: clientAddress(req, hub.config.listen.trustProxy),
      clientGone: clientGoneSignal(res),
      answerHeaders: deps.isShuttingDown()
        ? { 'x-aifd-request-id': id, connection: 'close' }
        : { 'x-aifd-request-id': id },
      identity: undefined,
      rewriteJson: undefined,
      injectedUsage: false,
      wantsAnswer: deps.wantsAnswer(),
      cacheStatus: undefined,
      cacheFill: undefined,
      admission: undefined,
      exchange: undefined,
      usage: undefined,
      usageSource: undefined,
      route: undefined,
      upstream: undefined,
      api: 'other',
      targets: undefined,
      target: undefined,
      alias: undefined,
      body: EMPTY_BODY,
      info: NO_BODY,
      outcome: newOutcome(),
      upgrade,
      session: undefined,
      trace: hub.telemetry?.begin(req.headers, startedAt),
    };
  }

  function answerStageError(ctx: RequestContext, err: unknown): void {
    const error = isAifdError(err) ? err : new AifdError('internal_error', 'aifd failed to handle the request');
    if (!isAifdError(err)) hub.log.error('request failed', { requestId: ctx.id, error: (err as Error)?.message });
    if (error.code === 'request_too_large' || error.code === 'invalid_request') {
      // The rest of the body is not read; the connection cannot be reused.
      ctx.answerHeaders.connection = 'close';
    }
    answerError(ctx, error);
  }

  return async function handle(req, res, upgrade) {
    const ctx = newContext(req, res, upgrade);
    const entry = active.add(ctx);
    try {
      for (const stage of STAGES) {
        // Most stages answer synchronously; awaiting only real promises saves a microtask each.
        const result = stage(ctx, hub);
        if ((typeof result === 'string' ? result : await result) === 'done') break;
      }
    } catch (err) {
      answerStageError(ctx, err);
    } finally {
      for (const finish of FINISHERS) {
        try {
          const finishing = finish(ctx, hub);
          if (finishing) await finishing;
        } catch (err) {
          hub.log.error(`could not finish a request (${finish.name})`, {
            requestId: ctx.id,
            error: (err as Error).message,
          });
        }
      }
      active.remove(entry);
      deps.onFinished();
    }
  };
}

/** Reading answers for usage is work: skip it where nothing would use what it finds. */
export function readsAnswers(config: HubConfig): boolean {
  return Boolean(
    config.logs.access ||
      config.logs.chat ||
      config.logs.sink !== 'none' ||
      config.limits ||
      config.cache.chatCompletions ||
      config.upstreams.some((upstream) => upstream.keys.length > 0),
  );
}
