import http from 'node:http';
import https from 'node:https';
import type { UpstreamConfig } from '../config/schema.js';
import { KeyPool } from '../keys/pool.js';

/** An upstream as the running daemon uses it: its config, parsed target, connection pool, key pool. */
export interface UpstreamRuntime {
  readonly config: UpstreamConfig;
  readonly target: URL;
  readonly agent: http.Agent;
  readonly pool: KeyPool;
  /** Pool mode replaces the client's credential; pass-through mode (no keys) forwards it. */
  readonly passThrough: boolean;
}

export function createUpstreamRuntime(config: UpstreamConfig): UpstreamRuntime {
  const target = new URL(config.baseUrl);
  const agentOptions = { keepAlive: true, keepAliveMsecs: 1000, maxFreeSockets: 256, scheduling: 'lifo' as const };
  const agent = target.protocol === 'https:' ? new https.Agent(agentOptions) : new http.Agent(agentOptions);
  const pool = new KeyPool(config.keys);
  return { config, target, agent, pool, passThrough: pool.size === 0 };
}

export function destroyUpstreamRuntime(upstream: UpstreamRuntime): void {
  upstream.agent.destroy();
}
