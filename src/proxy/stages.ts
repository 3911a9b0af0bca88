/**
 * THE ORDER a request goes through, top to bottom. A stage either lets the request go on ('next')
 * or has answered it ('done'); a thrown AifdError becomes an OpenAI-shaped error. What runs after
 * every request, however it ended, is in finishers.ts; dispatch.ts runs both.
 */
import { decide, decideAlias, mayUseModel, type AclDecision } from '../auth/acl.js';
import { AifdError } from '../errors.js';
import type { RequestContext } from './context.js';
import type { StageDeps } from './stage-deps.js';
import { readBody } from './body.js';
import { inspectBody, modelFromPath, sessionInfo } from './inspect-body.js';
import { answerModelList } from './model-list.js';
import { refuseForeignModel } from './model-routing.js';
import { normalizeTarget } from './normalize-path.js';
import { answerJson } from './respond.js';
import type { Limits, TokenRequest } from '../limits/limits.js';
import type { Authenticator } from '../auth/authenticate.js';
import { serveFromCache } from './cache-stage.js';
import { apiKindOf, consumesTokens } from '../usage/api-kind.js';
import { countPrompt, promptBound, promptParts } from '../usage/estimate.js';

type StageResult = 'next' | 'done';
export type Stage = (ctx: RequestContext, hub: StageDeps) => Promise<StageResult> | StageResult;

const NEXT: StageResult = 'next';
const DONE: StageResult = 'done';

function healthz(ctx: RequestContext, hub: StageDeps): StageResult {
  if (ctx.req.url !== '/healthz' || (ctx.req.method !== 'GET' && ctx.req.method !== 'HEAD')) return NEXT;
  answerJson(ctx, 200, { status: hub.isShuttingDown() ? 'shutting_down' : 'ok' });
  return DONE;
}

/** What is checked is what is forwarded: the target is normalized (or refused) first. */
function normalizePath(ctx: RequestContext): StageResult {
  ctx.req.url = normalizeTarget(ctx.req.url ?? '/');
  return NEXT;
}

function checkAddress(ctx: RequestContext, hub: StageDeps): Promise<StageResult> | StageResult {
  hub.network.check(ctx.clientIp);
  if (!hub.limits?.checksAddresses) return NEXT;
  return hub.limits.checkAddress(ctx.clientIp).then(() => NEXT);
}

function matchRoute(ctx: RequestContext, hub: StageDeps): StageResult {
  ctx.route = hub.routes.match(ctx.req.url!, ctx.req.headers['anthropic-version'] !== undefined);
  if (!ctx.route) throw new AifdError('route_not_found', `no upstream serves ${ctx.req.url}`);
  ctx.api = apiKindOf(ctx.route.apiPath, ctx.route.api);
  ctx.upstream = ctx.route.upstream;
  return NEXT;
}

/** Before the body is read, so that nobody unknown makes aifd hold a large body. */
function authenticate(ctx: RequestContext, hub: StageDeps): Promise<StageResult> | StageResult {
  return hub.authenticator ? authenticateWith(hub.authenticator, ctx, hub) : NEXT;
}

async function authenticateWith(
  authenticator: Authenticator,
  ctx: RequestContext,
  hub: StageDeps,
): Promise<StageResult> {
  try {
    ctx.identity = await authenticator.authenticate(ctx.req.headers);
  } catch (err) {
    // Failed credentials count against the address (limits.ip), a brake on guessing.
    await hub.limits?.recordAuthFailure(ctx.clientIp);
    throw err;
  }
  hub.network.check(ctx.clientIp, ctx.identity.user);
  return NEXT;
}

async function readRequestBody(ctx: RequestContext, hub: StageDeps): Promise<StageResult> {
  if (ctx.upgrade) {
    ctx.info = sessionInfo(ctx.route!.forwardPath);
    return NEXT;
  }
  ctx.body = await readBody(ctx.req, hub.config.listen.maxBodySize);
  const info = inspectBody(ctx.req.headers['content-type'], ctx.body, ctx.route!.forwardPath);
  ctx.info = info instanceof Promise ? await info : info;
  return NEXT;
}

/** On a route where the model picks the upstream: plans where the request goes (and falls back to). */
function routeByModel(ctx: RequestContext, hub: StageDeps): StageResult {
  const route = ctx.route!;
  const model = ctx.info.model;
  if (model === undefined) return NEXT;
  refuseForeignModel(route, model);
  if (!hub.router.routesByModel(route)) return NEXT;
  const plan = hub.router.plan(route, model);
  if (plan.alias && !ctx.info.json && modelFromPath(route.forwardPath) === undefined) {
    throw new AifdError(
      'invalid_request',
      `the model alias "${model}" can be used in JSON requests only; name the model itself`,
      { param: 'model' },
    );
  }
  ctx.targets = plan.targets;
  ctx.alias = plan.alias;
  ctx.upstream = plan.targets[0]!.upstream;
  return NEXT;
}

function authorize(ctx: RequestContext, hub: StageDeps): StageResult {
  const identity = ctx.identity;
  if (!identity) return NEXT;
  const route = ctx.route!;
  const path = route.apiPath;
  const acl = hub.config.acl;
  const decideFor = (upstream: string, model: string | undefined, target?: string): AclDecision => {
    const request = {
      identity,
      upstream,
      method: ctx.req.method ?? 'GET',
      path,
      model,
      modelUnreadable: ctx.info.modelUnknown,
    };
    return target === undefined ? decide(acl, request) : decideAlias(acl, request, target);
  };
  let decision: AclDecision;
  if (ctx.targets) {
    // Each target is judged on its own; the ones the caller may not use drop out of the chain.
    const decisions = ctx.targets.map((target) =>
      decideFor(target.upstream.config.name, ctx.alias ?? target.model, ctx.alias ? target.model : undefined),
    );
    const allowed = ctx.targets.filter((_target, index) => decisions[index]!.allowed);
    decision = decisions.find((candidate) => candidate.allowed) ?? decisions[0]!;
    if (allowed.length > 0) {
      ctx.targets = allowed;
      ctx.upstream = allowed[0]!.upstream;
    }
  } else {
    decision = decideFor(ctx.upstream!.config.name, ctx.info.model);
  }
  if (!decision.allowed) {
    throw new AifdError(
      decision.code,
      decision.message,
      decision.code === 'model_not_allowed' ? { param: 'model' } : {},
    );
  }
  if (ctx.req.method === 'GET' && path === '/v1/models') {
    const upstream = ctx.upstream!.config.name;
    ctx.rewriteJson = (body) =>
      filterModelList(body, (model) => mayUseModel(hub.config.acl, identity, upstream, model));
  }
  return NEXT;
}

/**
 * Exact usage for streams: when a streamed chat or text completion does not ask for
 * `stream_options.include_usage`, aifd asks for it (and the answer tap hides it again).
 */
function requestStreamUsage(ctx: RequestContext): StageResult {
  const json = ctx.info.json;
  if (!json || !ctx.info.stream || !ctx.wantsAnswer || !ctx.upstream!.config.injectStreamUsage) return NEXT;
  if (ctx.api !== 'chat' && ctx.api !== 'completions') return NEXT;
  const options = json.get('stream_options');
  if (options !== undefined && options !== null && typeof options !== 'object') return NEXT;
  if ((options as { include_usage?: unknown } | null)?.include_usage === true) return NEXT;
  json.set('stream_options', { ...(options as object | null), include_usage: true });
  ctx.injectedUsage = true;
  return NEXT;
}

/** Counts the request against the caller's limits and reserves its tokens and cost. */
function applyLimits(ctx: RequestContext, hub: StageDeps): Promise<StageResult> | StageResult {
  return hub.limits ? admitTo(hub.limits, ctx) : NEXT;
}

async function admitTo(limits: Limits, ctx: RequestContext): Promise<StageResult> {
  const identity = ctx.identity;
  const path = ctx.route!.apiPath;
  const method = ctx.req.method ?? 'GET';
  const subject = {
    user: identity?.user,
    roles: identity?.roles ?? [],
    ip: ctx.clientIp,
    anonymous: !identity || identity.via === 'anonymous',
    path,
    pathname: ctx.route!.pathname,
    claims: identity?.limits ? { ...identity.limits, id: identity.jti ?? identity.user } : undefined,
  };
  if (ctx.upgrade) {
    // A session's size is known only as it goes: it is charged response by response.
    ctx.admission = await limits.admitSession(subject, ctx.targets?.[0]?.model ?? ctx.info.model);
    Object.assign(ctx.answerHeaders, ctx.admission.headers);
    return NEXT;
  }
  let tokens: TokenRequest | undefined;
  if (limits.countsTokens && consumesTokens(method, ctx.api)) {
    const json = ctx.info.json;
    // An alias is priced and counted as the model behind it.
    const model = ctx.targets?.[0]?.model ?? ctx.info.model;
    const parts = promptParts(model, json);
    const bound = promptBound(parts);
    tokens = {
      model,
      promptTokens: bound.tokens,
      audioPromptTokens: bound.audioTokens,
      maxTokens: firstNumber(
        json?.get('max_tokens'),
        json?.get('max_completion_tokens'),
        json?.get('max_output_tokens'),
      ),
      exactPromptTokens: async () => (await countPrompt(parts)).tokens,
    };
  }
  ctx.admission = await limits.admit(subject, tokens);
  Object.assign(ctx.answerHeaders, ctx.admission.headers);
  return NEXT;
}

function firstNumber(...values: unknown[]): number | undefined {
  for (const value of values) if (typeof value === 'number' && Number.isFinite(value) && value > 0) return value;
  return undefined;
}

async function forward(ctx: RequestContext, hub: StageDeps): Promise<StageResult> {
  if (ctx.upgrade && ctx.req.headers.upgrade?.toLowerCase() !== 'websocket')
    throw new AifdError('invalid_request', 'only WebSocket upgrades are forwarded');
  if (ctx.info.json?.changed) ctx.body = ctx.info.json.toBuffer();
  await hub.forwarder.forward(ctx);
  return DONE;
}

export const STAGES: readonly Stage[] = [
  healthz,
  normalizePath,
  checkAddress,
  matchRoute,
  authenticate,
  readRequestBody,
  routeByModel,
  authorize,
  answerModelList,
  requestStreamUsage,
  applyLimits,
  serveFromCache,
  forward,
];

function filterModelList(body: unknown, mayUse: (model: string) => boolean): unknown {
  const list = body as { data?: { id?: unknown }[] };
  if (!list || !Array.isArray(list.data)) return body;
  return { ...list, data: list.data.filter((model) => typeof model.id === 'string' && mayUse(model.id)) };
}
