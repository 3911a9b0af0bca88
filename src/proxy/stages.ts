/**
 * THE ORDER a request goes through, top to bottom. A stage either lets the request go on or
 * answers it (returns 'done'); a thrown AifdError becomes an OpenAI-shaped error response.
 */
import { AifdError } from '../errors.js';
import type { RequestContext } from './context.js';
import type { Hub } from './hub.js';
import { readBody } from './body.js';
import { inspectBody } from './inspect-body.js';
import { sendJson } from './respond.js';

export type StageResult = 'next' | 'done';
export type Stage = (ctx: RequestContext, hub: Hub) => StageResult | Promise<StageResult>;

const healthz: Stage = (ctx, hub) => {
  if (ctx.req.url !== '/healthz' || (ctx.req.method !== 'GET' && ctx.req.method !== 'HEAD')) return 'next' as const;
  ctx.outcome.status = 200;
  sendJson(ctx.res, ctx.id, 200, { status: hub.isShuttingDown() ? 'shutting_down' : 'ok' });
  return 'done' as const;
};

const matchRoute: Stage = (ctx, hub) => {
  ctx.route = hub.routes.match(ctx.req.url ?? '/');
  if (!ctx.route) throw new AifdError('route_not_found', `no upstream serves ${ctx.req.url}`);
  return 'next' as const;
};

const readRequestBody: Stage = async (ctx, hub) => {
  ctx.body = await readBody(ctx.req, hub.config.listen.maxBodySize);
  ctx.info = inspectBody(ctx.req.headers['content-type'], ctx.body);
  return 'next' as const;
};

const forward: Stage = async (ctx, hub) => {
  await hub.forwarder.forward(ctx);
  return 'done' as const;
};

export const STAGES: readonly Stage[] = [healthz, matchRoute, readRequestBody, forward];
