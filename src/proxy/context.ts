import type { IncomingMessage, OutgoingHttpHeaders, ServerResponse } from 'node:http';
import type { Identity } from '../auth/identity.js';
import type { Exchange } from '../usage/exchange.js';
import type { Admission } from '../limits/limits.js';
import type { CacheEntry } from '../cache/entry.js';
import type { Usage, UsageSource } from '../usage/usage.js';
import type { BodyInfo } from './inspect-body.js';
import type { RouteMatch } from './routes.js';
import type { UpstreamRuntime } from './upstreams.js';
import type { ApiKind } from '../usage/api-kind.js';
import type { Target } from './model-routing.js';
import type { Duplex } from 'node:stream';
import type { SessionTally } from '../realtime/session-tally.js';
import type { RequestTrace } from '../telemetry/telemetry.js';

/** A WebSocket handshake: the client's socket, and what it sent after its handshake. */
export interface UpgradeRequest {
  readonly socket: Duplex;
  readonly head: Buffer;
}

/** Everything one request carries through the stages, and what they learned about it. */
export interface RequestContext {
  readonly id: string;
  /** performance.now() when the request arrived. */
  readonly startedAt: number;
  readonly req: IncomingMessage;
  readonly res: ServerResponse;
  readonly clientIp: string;
  /**
   * Headers aifd adds to the answer, whoever writes it: the request id, the cache status, the
   * caller's limits. Collected here and written once with the status line (a setHeader before
   * writeHead makes Node merge two header sets on every request).
   */
  readonly answerHeaders: OutgoingHttpHeaders;
  /** Aborted when the client goes away before its answer is complete. */
  readonly clientGone: AbortSignal;
  /** Who is asking (set by authentication); undefined when the gateway has no auth section. */
  identity: Identity | undefined;
  /** What the response cache did for this request. */
  cacheStatus: 'hit' | 'miss' | 'bypass' | undefined;
  /** A miss that should fill the cache when its answer is complete. */
  cacheFill: { key: string; settle: (entry: CacheEntry | undefined) => void } | undefined;
  /** Whether anything reads the answer (usage for logs, limits, key counters, the cache). */
  wantsAnswer: boolean;
  /** aifd added `stream_options.include_usage` to the upstream request (and takes it back out). */
  injectedUsage: boolean;
  /** What the answer said: text, tool calls, usage (filled while it passes). */
  exchange: Exchange | undefined;
  /** Usage as accounted, and where it came from. */
  usage: Usage | undefined;
  usageSource: UsageSource | undefined;
  /** The caller's limits and reservations for this request (settled when it ends). */
  admission: Admission | undefined;
  /** Rewrites a JSON answer before it reaches the client (the filtered model list). */
  rewriteJson: ((body: unknown) => unknown) | undefined;
  route: RouteMatch | undefined;
  /** Which OpenAI API the request calls (from the route's API path, once it matched). */
  api: ApiKind;
  /** Where the request may go, in order (routing by model); undefined: the route's one upstream. */
  targets: readonly Target[] | undefined;
  /** The upstream the request goes to, or is being tried at (set with the route match, then by routing and retries). */
  upstream: UpstreamRuntime | undefined;
  /** The target being tried (its upstream is `upstream`). */
  target: Target | undefined;
  /** The alias the client asked for: answers name it instead of the model behind it. */
  alias: string | undefined;
  body: Buffer;
  info: BodyInfo;
  outcome: RequestOutcome;
  /** Set for a WebSocket handshake (then `res` writes on its socket until the upgrade). */
  readonly upgrade: UpgradeRequest | undefined;
  /** What the WebSocket session did, once it ran. */
  session: SessionTally | undefined;
  /** The request's OpenTelemetry spans; undefined unless telemetry.otlp is set. */
  readonly trace: RequestTrace | undefined;
}

/** What happened, filled in as the request goes (for logs and metrics). */
export interface RequestOutcome {
  status: number | undefined;
  attempts: number;
  keyHash: string | undefined;
  ttfbMs: number | undefined;
  /** Time spent waiting on upstreams (every attempt, up to its response headers). */
  upstreamMs: number;
  /** Time spent waiting in the key queue. */
  queueMs: number;
  error: string | undefined;
}

export function newOutcome(): RequestOutcome {
  return {
    status: undefined,
    attempts: 0,
    keyHash: undefined,
    ttfbMs: undefined,
    upstreamMs: 0,
    queueMs: 0,
    error: undefined,
  };
}

/** Time aifd itself spent before the answer's first byte: everything but the upstream's time. */
export function overheadMs(ctx: RequestContext, now: number): number {
  return Math.max(0, Math.round((now - ctx.startedAt - ctx.outcome.upstreamMs - ctx.outcome.queueMs) * 100) / 100);
}
