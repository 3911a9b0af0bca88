/** The shape of one `GET /events` snapshot, as the live view reads it. */
import type { KeyView } from '../keys/snapshot.js';
import type { LiveTotals } from '../admin/live-stats.js';

export interface HubSnapshot {
  version: string;
  startedAt: string;
  inFlight: number;
  /** WebSocket sessions open (each also in `inFlight`); absent from daemons older than sessions. */
  sessions?: number;
  upstreams: { name: string; route: string; mode: string; keys: number; queueLength: number }[];
  keys: KeyView[];
  totals: LiveTotals;
  /** The shared store; `up: false` during a Redis outage (older daemons send nothing). */
  store?: { kind: string; up: boolean; since: number | null; reason: string | null };
}

export type Connection =
  | { state: 'connecting' }
  | { state: 'live'; snapshot: HubSnapshot; at: number }
  | { state: 'lost'; reason: string; snapshot?: HubSnapshot };
