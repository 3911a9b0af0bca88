import type http from 'node:http';
import type { UpstreamConfig } from '../config/schema.js';
import { outboundAgent } from '../net/outbound-agent.js';
import { DEFAULT_TIMINGS, KeyPool } from '../keys/pool.js';
import { KeyQueue } from '../keys/queue.js';
import type { Clock } from '../util/clock.js';
import { Pacer } from '../limits/pacer.js';
import { parseRateString } from '../config/rate-string.js';
import type { HubConfig } from '../config/schema.js';

/** An upstream as the running daemon uses it: its config, parsed target, connections, keys. */
export interface UpstreamRuntime {
  readonly config: UpstreamConfig;
  readonly target: URL;
  readonly agent: http.Agent;
  /** The proxy the agent goes through, if any (for messages). */
  readonly proxy: string | undefined;
  readonly pool: KeyPool;
  readonly queue: KeyQueue;
  /** Pool mode replaces the client's credential; pass-through mode (no keys) forwards it. */
  readonly passThrough: boolean;
  /** A new pacer for each stream when `limits.streamTokenRate` is set. */
  pacing: (() => Pacer) | undefined;
}

export function createUpstreamRuntime(config: UpstreamConfig, clock: Clock): UpstreamRuntime {
  const target = new URL(config.baseUrl);
  const { agent, proxy } = outboundAgent(config);
  const pool = new KeyPool(config.keys, clock, { ...DEFAULT_TIMINGS, overQuotaRecheckMs: config.overQuotaRecheck });
  const queue = new KeyQueue(pool, clock, { maxWaitMs: config.queue.maxWait, maxLength: config.queue.maxLength });
  return { config, target, agent, proxy, pool, queue, passThrough: pool.size === 0, pacing: undefined };
}

export function destroyUpstreamRuntime(upstream: UpstreamRuntime): void {
  upstream.queue.close();
  upstream.agent.destroy();
}

/** `limits.streamTokenRate` paces every stream of the upstream. */
export function setPacing(upstream: UpstreamRuntime, config: HubConfig): void {
  const stream = config.limits?.streamTokenRate ? parseRateString(config.limits.streamTokenRate)[0] : undefined;
  upstream.pacing = stream ? () => Pacer.perWindow(stream.points, stream.durationMs) : undefined;
}
