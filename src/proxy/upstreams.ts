import http from 'node:http';
import https from 'node:https';
import type { UpstreamConfig } from '../config/schema.js';
import { DEFAULT_TIMINGS, KeyPool } from '../keys/pool.js';
import { KeyQueue } from '../keys/queue.js';
import type { Clock } from '../util/clock.js';
import type { Pacer } from '../limits/pacer.js';

/** An upstream as the running daemon uses it: its config, parsed target, connections, keys. */
export interface UpstreamRuntime {
  readonly config: UpstreamConfig;
  readonly target: URL;
  readonly agent: http.Agent;
  readonly pool: KeyPool;
  readonly queue: KeyQueue;
  /** Pool mode replaces the client's credential; pass-through mode (no keys) forwards it. */
  readonly passThrough: boolean;
  /** A new pacer for each stream when `limits.streamTokenRate` is set. */
  pacing: (() => Pacer) | undefined;
}

export function createUpstreamRuntime(config: UpstreamConfig, clock: Clock): UpstreamRuntime {
  const target = new URL(config.baseUrl);
  const agentOptions = { keepAlive: true, keepAliveMsecs: 1000, maxFreeSockets: 256, scheduling: 'lifo' as const };
  const agent = target.protocol === 'https:' ? new https.Agent(agentOptions) : new http.Agent(agentOptions);
  const pool = new KeyPool(config.keys, clock, { ...DEFAULT_TIMINGS, overQuotaRecheckMs: config.overQuotaRecheck });
  const queue = new KeyQueue(pool, clock, { maxWaitMs: config.queue.maxWait, maxLength: config.queue.maxLength });
  return { config, target, agent, pool, queue, passThrough: pool.size === 0, pacing: undefined };
}

export function destroyUpstreamRuntime(upstream: UpstreamRuntime): void {
  upstream.queue.close();
  upstream.agent.destroy();
}
