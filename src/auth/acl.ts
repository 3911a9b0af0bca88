/**
 * The ACL: rules in order, first match wins, then `default`. Pure: it takes the request's
 * attributes and returns a decision. Token claims (`models`, `paths`) can only narrow the result.
 */
import type { AclConfig } from '../config/schema.js';
import { anyGlobMatch } from '../util/glob.js';
import type { Identity } from './identity.js';

export interface AclRequest {
  identity: Identity;
  upstream: string;
  method: string;
  /** The API path as forwarded (route prefix stripped, normalized). */
  path: string;
  /** The model the request asks for; undefined when it names none. */
  model: string | undefined;
  /** True when the request carries a body whose model could not be read. */
  modelUnreadable: boolean;
}

/** `byModelName`: a rule that names models (not `*`) decided it, so it speaks of this very model. */
export type AclDecision =
  | { allowed: true; byModelName?: boolean }
  | { allowed: false; code: 'path_not_allowed' | 'model_not_allowed'; message: string; byModelName?: boolean };

type Rule = AclConfig['rules'][number];

const ALLOW: AclDecision = { allowed: true };
const ALLOW_BY_NAME: AclDecision = { allowed: true, byModelName: true };

export function decide(acl: AclConfig | undefined, request: AclRequest): AclDecision {
  const fromRules = acl ? decideByRules(acl, request) : ALLOW;
  if (!fromRules.allowed) return fromRules;
  const byClaims = narrowByClaims(request);
  return byClaims.allowed ? fromRules : byClaims;
}

function decideByRules(acl: AclConfig, request: AclRequest): AclDecision {
  // An allow rule that fit but for the model: a default deny then names the model.
  let missedOnModel = false;
  const path = request.path.toLowerCase();
  for (let index = 0; index < acl.rules.length; index++) {
    const rule = acl.rules[index]!;
    if (!matchesWho(rule, request) || !matchesWhere(rule, request, path)) continue;
    const model = modelCondition(rule.models, request);
    if (model === 'unknown') {
      return {
        allowed: false,
        code: 'model_not_allowed',
        message: `the request's model could not be determined, and rule ${index + 1} allows or denies by model`,
      };
    }
    if (model === 'no') {
      if (rule.effect === 'allow') missedOnModel = true;
      continue;
    }
    const byModelName = namesModels(rule.models) && request.model !== undefined;
    if (rule.effect === 'allow') return byModelName ? ALLOW_BY_NAME : ALLOW;
    return { ...denied(request, rule.models !== undefined && request.model !== undefined), byModelName };
  }
  return acl.default === 'allow' ? ALLOW : denied(request, missedOnModel);
}

/**
 * A request for an alias: a rule that names the alias decides (so an alias can be allowed
 * without the model behind it); otherwise the model behind it must be allowed, so a deny on a
 * model cannot be dodged through an alias.
 */
export function decideAlias(acl: AclConfig | undefined, request: AclRequest, target: string): AclDecision {
  const byAlias = decide(acl, request);
  if (byAlias.byModelName) return byAlias;
  return decide(acl, { ...request, model: target });
}

function namesModels(models: readonly string[] | undefined): boolean {
  return models !== undefined && !models.includes('*');
}

function narrowByClaims(request: AclRequest): AclDecision {
  const { identity } = request;
  if (identity.paths && !anyGlobMatch(identity.paths, request.path.toLowerCase())) {
    return {
      allowed: false,
      code: 'path_not_allowed',
      message: `your token does not allow ${request.method} ${request.path}`,
    };
  }
  if (identity.models) {
    const model = modelCondition(identity.models, request);
    if (model === 'unknown')
      return {
        allowed: false,
        code: 'model_not_allowed',
        message: "the request's model could not be determined, and your token is limited to certain models",
      };
    if (model === 'no')
      return {
        allowed: false,
        code: 'model_not_allowed',
        message: `your token does not allow the model "${request.model}"`,
      };
  }
  return ALLOW;
}

function matchesWho(rule: Rule, request: AclRequest): boolean {
  const { identity } = request;
  if (rule.users && !anyGlobMatch(rule.users, identity.user)) return false;
  if (rule.roles && !hasAnyRole(rule.roles, identity.roles)) return false;
  return true;
}

function hasAnyRole(wanted: readonly string[], held: readonly string[]): boolean {
  for (const role of wanted) if (role === '*' || held.includes(role)) return true;
  return false;
}

/** `path`: the request's path in lower case (paths match case-insensitively). */
function matchesWhere(rule: Rule, request: AclRequest, path: string): boolean {
  if (rule.upstreams && !rule.upstreams.includes(request.upstream)) return false;
  if (rule.methods && !rule.methods.some((method) => method === '*' || method.toUpperCase() === request.method))
    return false;
  if (rule.paths && !anyGlobMatch(lowered(rule.paths), path)) return false;
  return true;
}

/** A rule's path globs in lower case, made once per rule (rules live as long as their config). */
const loweredPaths = new WeakMap<readonly string[], readonly string[]>();

function lowered(paths: readonly string[]): readonly string[] {
  let out = loweredPaths.get(paths);
  if (!out) loweredPaths.set(paths, (out = paths.map(lower)));
  return out;
}

/**
 * Whether a rule's model globs cover the request. A request without a body names no model (model
 * lists, files): the condition holds. A body whose model cannot be read is `unknown`, which denies,
 * unless the globs allow every model.
 */
function modelCondition(models: readonly string[] | undefined, request: AclRequest): 'yes' | 'no' | 'unknown' {
  if (!models || models.includes('*')) return 'yes';
  if (request.model !== undefined) return anyGlobMatch(models, request.model) ? 'yes' : 'no';
  return request.modelUnreadable ? 'unknown' : 'yes';
}

function denied(request: AclRequest, byModel: boolean): AclDecision {
  if (byModel)
    return { allowed: false, code: 'model_not_allowed', message: `you may not use the model "${request.model}"` };
  return { allowed: false, code: 'path_not_allowed', message: `you may not call ${request.method} ${request.path}` };
}

/** Endpoints that consume a model: a model is usable when one of them allows it. */
const MODEL_ENDPOINTS = [
  '/v1/chat/completions',
  '/v1/completions',
  '/v1/responses',
  '/v1/embeddings',
  '/v1/images/generations',
  '/v1/audio/transcriptions',
  '/v1/audio/speech',
  '/v1/moderations',
];

/**
 * Whether the caller may use `model` for any API call (for filtering `GET /v1/models`); for an
 * alias, `target` is the model behind it.
 */
export function mayUseModel(
  acl: AclConfig | undefined,
  identity: Identity,
  upstream: string,
  model: string,
  target?: string,
): boolean {
  return MODEL_ENDPOINTS.some((path) => {
    const request: AclRequest = { identity, upstream, method: 'POST', path, model, modelUnreadable: false };
    return (target === undefined ? decide(acl, request) : decideAlias(acl, request, target)).allowed;
  });
}

function lower(text: string): string {
  return text.toLowerCase();
}
