/**
 * Routing by model: on a route several upstreams share, the request's `model` picks the upstream
 * (first whose `models` globs match, in config order; the one without `models` serves the rest).
 * Aliases map a name users see to a real model, or to a chain of them. The plan is the ordered
 * list of (upstream, model) targets the forwarder tries until one answers.
 */
import type { AliasesConfig } from '../config/schema.js';
import { AifdError } from '../errors.js';
import { anyGlobMatch } from '../util/glob.js';
import type { RouteMatch } from './routes.js';
import type { UpstreamRuntime } from './upstreams.js';

export interface Target {
  readonly upstream: UpstreamRuntime;
  /** The model the upstream is asked for. */
  readonly model: string;
}

export interface ModelPlan {
  readonly targets: readonly Target[];
  /** The alias the client asked for (its answer names the alias again), if it was one. */
  readonly alias: string | undefined;
}

interface AliasTarget {
  upstream: UpstreamRuntime | undefined;
  model: string;
}

export class ModelRouter {
  private readonly aliases = new Map<string, AliasTarget[]>();

  constructor(upstreams: readonly UpstreamRuntime[], aliases: AliasesConfig | undefined) {
    const byName = new Map(upstreams.map((upstream) => [upstream.config.name, upstream]));
    for (const [alias, config] of Object.entries(aliases ?? {})) {
      const targets = (Array.isArray(config) ? config : [config]).map((target) =>
        typeof target === 'string'
          ? { upstream: undefined, model: target }
          : { upstream: target.upstream ? byName.get(target.upstream) : undefined, model: target.model },
      );
      this.aliases.set(alias, targets);
    }
  }

  /** Whether the model decides anything on this route (otherwise the route's upstream serves all). */
  routesByModel(route: RouteMatch): boolean {
    return this.aliases.size > 0 || route.shared.length > 1 || route.upstream.config.models !== undefined;
  }

  aliasNames(): string[] {
    return [...this.aliases.keys()];
  }

  /** Where a request for `model` on `route` goes, in the order to try; 404 when nothing serves it. */
  plan(route: RouteMatch, model: string): ModelPlan {
    const aliasTargets = this.aliases.get(model);
    const targets: Target[] = [];
    const add = (upstream: UpstreamRuntime, target: string) => {
      if (!targets.some((known) => known.upstream === upstream && known.model === target))
        targets.push({ upstream, model: target });
    };
    if (aliasTargets) {
      for (const target of aliasTargets) {
        if (target.upstream) add(target.upstream, target.model);
        else for (const upstream of servingUpstreams(route.shared, target.model)) add(upstream, target.model);
      }
    } else {
      for (const upstream of servingUpstreams(route.shared, model)) add(upstream, model);
    }
    if (targets.length === 0) {
      throw new AifdError(
        'model_not_found',
        `The model \`${model}\` does not exist or no upstream of this gateway serves it.`,
        { param: 'model' },
      );
    }
    return { targets, alias: aliasTargets ? model : undefined };
  }
}

/** Model names of OpenAI's own models: no Anthropic Messages API serves them. */
const OPENAI_MODEL =
  /^(gpt-|chatgpt-|o[1-9](-|$)|text-embedding-|dall-e-|whisper-|tts-|omni-moderation|davinci|babbage|codex-|computer-use-)/;

/**
 * A request in Anthropic's API for one of OpenAI's models is refused here (404, in Anthropic's
 * shape), without a call upstream, unless an Anthropic upstream's `models` names it on purpose.
 */
export function refuseForeignModel(route: RouteMatch, model: string): void {
  if (route.api !== 'anthropic' || !OPENAI_MODEL.test(model)) return;
  if (route.shared.some((upstream) => claims(upstream, model))) return;
  throw new AifdError(
    'model_not_found',
    `The model \`${model}\` is OpenAI's; this route speaks Anthropic's Messages API (send OpenAI requests to /v1/chat/completions).`,
    { param: 'model' },
  );
}

/** Whether the upstream's `models` globs name `model` (a catch-all upstream claims nothing by name). */
function claims(upstream: UpstreamRuntime, model: string): boolean {
  return upstream.config.models !== undefined && anyGlobMatch(upstream.config.models, model);
}

/** The upstreams whose globs match `model`, in config order, then the one that serves every other model. */
function servingUpstreams(shared: readonly UpstreamRuntime[], model: string): UpstreamRuntime[] {
  const matching = shared.filter((upstream) => claims(upstream, model));
  const catchAll = shared.find((upstream) => !upstream.config.models);
  if (catchAll) matching.push(catchAll);
  return matching;
}
