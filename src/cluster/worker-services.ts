/**
 * A worker's view of what the primary holds: the store, the limit counters, cache claims, the
 * record outlet and the diagnostics log, each the same interface a single process uses, over IPC.
 */
import type { Counters } from '../limits/counters.js';
import type { HubConfig } from '../config/schema.js';
import { sinkUrl } from '../logs/sinks/open-dialect.js';
import type { KeyStateWriter } from '../keys/key-store.js';
import type { Diagnostics, LogLevel } from '../logs/diagnostics.js';
import type { RecordOutlet } from '../proxy/recorder.js';
import type { SharedFills } from '../cache/shared-fills.js';
import { storeOf, type Store } from '../store/open-store.js';
import type { KeyValueSpace } from '../store/key-value.js';
import type { IpcLink } from './ipc-link.js';
import type { PrimaryOperations, WorkerOperations } from './protocol.js';

export type PrimaryLink = IpcLink<PrimaryOperations, WorkerOperations>;

/** The primary's store (memory or SQLite) as this worker reaches it. */
export function primaryStore(link: PrimaryLink, location: string): Store {
  return storeOf('primary', `${location} (held by the primary)`, '', (space) => ({
    kv: primarySpace(link, space),
    close: async () => undefined,
  }));
}

/** An answer that carries nothing: only when it came (or failed) matters. */
async function done(answer: Promise<unknown>): Promise<void> {
  await answer;
}

function primarySpace(link: PrimaryLink, space: string): KeyValueSpace {
  return {
    get: (key) => link.call('kv.get', { space, key }),
    set: (key, value, ttlMs) => done(link.call('kv.set', { space, key, value, ttlMs })),
    delete: (key) => done(link.call('kv.delete', { space, key })),
    clear: () => done(link.call('kv.clear', { space })),
    async *entries() {
      yield* await link.call('kv.entries', { space });
    },
  };
}

export function primaryCounters(link: PrimaryLink): Counters {
  return {
    add: (key, points, ttlMs) => link.call('counters.add', { key, points, ttlMs }),
    remove: (key, points) => done(link.call('counters.remove', { key, points })),
    get: (key) => link.call('counters.get', { key }),
    close: async () => undefined,
  };
}

/** Key state saved through the primary, which adds every worker's counts up. */
export function primaryKeyWriter(link: PrimaryLink): KeyStateWriter {
  return (hash, fields, added) => done(link.call('keys.write', { hash, fields, added }));
}

export function primaryFills(link: PrimaryLink): SharedFills {
  return {
    claim: (key) => link.call('fills.claim', { key }).catch(() => true),
    release: (key) => done(link.call('fills.release', { key })).catch(() => undefined),
    async waitFor(key, timeoutMs, filled) {
      if (await filled()) return;
      await done(link.call('fills.wait', { key, timeoutMs })).catch(() => undefined);
    },
    close: async () => undefined,
  };
}

/**
 * Records go to the primary when something there keeps them: the access log, the SQL sink, or the
 * admin listener's live totals; chat records when the chat log is on.
 */
export function primaryOutlet(link: PrimaryLink, config: HubConfig): RecordOutlet {
  return {
    keepsAccess: config.logs.access || sinkUrl(config) !== undefined || config.admin.enabled,
    keepsChat: config.logs.chat,
    access: (record) => link.notify('access', record),
    chat: (record) => link.notify('chat', record),
    failures: 0,
    close: async () => undefined,
  };
}

const LEVELS: readonly LogLevel[] = ['error', 'warn', 'info', 'debug'];

/** Diagnostics written by the primary, each line marked with this worker's number; below `level` none is sent. */
export function primaryDiagnostics(link: PrimaryLink, worker: number, level: LogLevel): Diagnostics {
  const highest = LEVELS.indexOf(level);
  const send = (at: LogLevel) => (message: string, meta?: Record<string, unknown>) => {
    if (LEVELS.indexOf(at) <= highest) link.notify('log', { level: at, message, meta: { ...meta, worker } });
  };
  return {
    error: send('error'),
    warn: send('warn'),
    info: send('info'),
    debug: send('debug'),
    close: async () => undefined,
  };
}
