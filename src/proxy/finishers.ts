/**
 * THE END of a request, top to bottom: what runs once after every request, however it ended (an
 * answer relayed, served from the cache, refused by a stage, or the client gone). Each finisher
 * runs on its own: one that fails is logged and the next still runs, so a failed usage estimate
 * never costs a limit its settlement or a request its access-log line.
 */
import type { RequestContext } from './context.js';
import type { Recorder } from './recorder.js';
import { accessRecordOf, servedModel } from './recorder.js';
import type { StageDeps } from './stage-deps.js';
import { fillCache } from './cache-stage.js';

export interface FinisherDeps extends StageDeps {
  readonly recorder: Recorder;
}

export type Finisher = (ctx: RequestContext, deps: FinisherDeps) => Promise<void> | void;

function settleUsage(ctx: RequestContext, deps: FinisherDeps): Promise<void> | undefined {
  // Nothing reads usage and nothing keeps records: there is nothing to count.
  if (!ctx.wantsAnswer && !deps.recorder.keepsRecords) return undefined;
  return deps.recorder.settleUsage(ctx);
}

/** Each reservation is settled to the usage, exactly once; a cache hit costs nothing. */
function settleLimits(ctx: RequestContext): Promise<void> | undefined {
  return ctx.admission?.settle(ctx.cacheStatus === 'hit' ? undefined : ctx.usage, servedModel(ctx));
}

/** The access record goes to the logs and listeners, and its span (with telemetry.otlp) gets what it says. */
function writeRecords(ctx: RequestContext, deps: FinisherDeps): void {
  const keeps = deps.recorder.keepsRecords;
  if (!keeps && !ctx.trace) return;
  const record = accessRecordOf(ctx);
  if (keeps) deps.recorder.write(ctx, record);
  ctx.trace?.end(record, {
    api: ctx.api,
    provider: ctx.upstream?.config.api ?? 'openai',
    requestModel: ctx.target?.model ?? ctx.info.model,
    finishReason: ctx.exchange?.finishReason,
    responseId: ctx.exchange?.id,
    baseUrl: ctx.upstream?.config.baseUrl,
  });
}

/** fillCache: a complete answer fills the cache entry the request claimed, and wakes those waiting for it. */
export const FINISHERS: readonly Finisher[] = [fillCache, settleUsage, settleLimits, writeRecords];
