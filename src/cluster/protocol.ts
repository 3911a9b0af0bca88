/** What the primary and its workers say to each other (ipc-link.ts carries it). */
import type { GatewayState, Nearest } from '../admin/admin-source.js';
import type { KeyCheckResult } from '../keys/check.js';
import type { KeyCounts, StoredKeyState } from '../keys/key-store.js';
import type { AccessRecord } from '../logs/access-record.js';
import type { ChatRecord } from '../logs/chat-record.js';
import type { ReloadResult } from '../proxy/hub-api.js';

import type { LogLevel } from '../logs/diagnostics.js';

/** A worker asks, the primary answers. */
export interface PrimaryOperations {
  [op: string]: [unknown, unknown];
  'counters.add': [{ key: string; points: number; ttlMs: number }, number];
  'counters.remove': [{ key: string; points: number }, unknown];
  'counters.get': [{ key: string }, number];
  'kv.get': [{ space: string; key: string }, unknown];
  'kv.set': [{ space: string; key: string; value: unknown; ttlMs?: number }, unknown];
  'kv.delete': [{ space: string; key: string }, unknown];
  'kv.clear': [{ space: string }, unknown];
  'kv.entries': [{ space: string }, [string, unknown][]];
  'keys.write': [{ hash: string; fields: StoredKeyState; added: KeyCounts }, unknown];
  'fills.claim': [{ key: string }, boolean];
  'fills.release': [{ key: string }, unknown];
  'fills.wait': [{ key: string; timeoutMs: number }, unknown];
  /** Notes: */
  access: [AccessRecord, unknown];
  chat: [ChatRecord, unknown];
  log: [{ level: LogLevel; message: string; meta?: Record<string, unknown> }, unknown];
  listening: [{ port: number; address: string; family: string }, unknown];
  failed: [{ message: string; code?: string }, unknown];
}

/** The primary asks, a worker answers. */
export interface WorkerOperations {
  [op: string]: [unknown, unknown];
  gateway: [undefined, GatewayState];
  nearest: [{ users: string[] }, Record<string, Nearest> | undefined];
  checkKeys: [{ upstream?: string }, KeyCheckResult[] | undefined];
  reload: [undefined, ReloadResult];
  /** A note: finish what is in flight within `graceMs`, then exit. */
  shutdown: [{ graceMs?: number }, unknown];
}
