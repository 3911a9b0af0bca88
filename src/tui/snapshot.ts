/** The shape of one `GET /events` snapshot, as the live view reads it. */
import type { KeyView } from '../keys/snapshot.js';

export interface HubSnapshot {
  version: string;
  startedAt: string;
  inFlight: number;
  upstreams: { name: string; route: string; mode: string; keys: number; queueLength: number }[];
  keys: KeyView[];
  totals: {
    requestsPerSecond: number;
    errorRate: number;
    p50Ms: number;
    p99Ms: number;
    tokensPerMinute: number;
    users: { user: string; requests: number; tokens: number }[];
    recentErrors: { at: string; error: string; path: string; user: string | null }[];
  };
}

export type Connection = { state: 'connecting' } | { state: 'live'; snapshot: HubSnapshot; at: number } | { state: 'lost'; reason: string; snapshot?: HubSnapshot };
