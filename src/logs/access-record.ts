import type { Usage, UsageSource } from '../usage/usage.js';

/** One line of the access log (and one row of the SQL sink): a request, whatever became of it. */
export interface AccessRecord {
  ts: string;
  id: string;
  user: string | null;
  ip: string;
  method: string;
  /** The route prefix that matched (`/`, `/local`), null when none did. */
  route: string | null;
  /** The path as the client sent it, normalized, without the query. */
  path: string;
  /** The model that answered (as the upstream names it). */
  model: string | null;
  /** The alias the client asked for, when it named one. */
  alias: string | null;
  stream: boolean;
  status: number | null;
  upstream: string | null;
  /** The key's hash (never the key). */
  key: string | null;
  attempts: number;
  cache: 'hit' | 'miss' | 'bypass' | null;
  ttfbMs: number | null;
  /** Time spent in aifd itself before the first byte (everything but the upstream's time). */
  overheadMs: number | null;
  /** Time spent waiting for a usable key. */
  queueMs: number;
  durationMs: number;
  usage: Usage | null;
  usageSource: UsageSource | null;
  error: string | null;
  /** A WebSocket session's own facts (absent on plain HTTP requests). */
  session?: SessionRecord;
}

/** What a WebSocket session did: its frames and bytes each way, responses, and how it ended. */
export interface SessionRecord {
  responses: number;
  framesIn: number;
  framesOut: number;
  bytesIn: number;
  bytesOut: number;
  closeCode: number | null;
  closeReason: string | null;
  /** Who sent the first close frame (`null`: the connection ended without one). */
  closedBy: 'client' | 'upstream' | 'aifd' | null;
}
