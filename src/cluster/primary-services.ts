/**
 * What the primary holds for its workers and how it answers them: the store, the limit counters,
 * cache claims, and the records (one writer of each log, the SQL sink, the live totals).
 */
import type { Counters } from '../limits/counters.js';
import type { AccessRecord } from '../logs/access-record.js';
import type { Diagnostics } from '../logs/diagnostics.js';
import type { SqlSink } from '../logs/sinks/sql-sink.js';
import type { RecordOutlet } from '../proxy/recorder.js';
import type { Store } from '../store/open-store.js';
import type { KeyValueSpace } from '../store/key-value.js';
import { mergeStoredState, type KeyCounts, type StoredKeyState } from '../keys/key-store.js';
import type { FillClaims } from './fill-claims.js';
import type { IpcLink } from './ipc-link.js';
import type { PrimaryOperations, WorkerOperations } from './protocol.js';

export type WorkerLink = IpcLink<WorkerOperations, PrimaryOperations>;

export interface PrimaryServices {
  /** Undefined with a Redis store: the workers reach it themselves. */
  store: Store | undefined;
  /** Where key state is kept (on every store: the counts of all workers are added here). */
  keyStates: KeyStates;
  counters: Counters | undefined;
  claims: FillClaims;
  records: PrimaryRecords;
  log: Diagnostics;
}

/** The records of every worker, written once. */
export class PrimaryRecords {
  private readonly listeners: ((record: AccessRecord) => void)[] = [];

  constructor(
    readonly outlet: RecordOutlet,
    private readonly sink: SqlSink | undefined,
  ) {}

  onRecord(listener: (record: AccessRecord) => void): void {
    this.listeners.push(listener);
  }

  access(record: AccessRecord): void {
    if (this.outlet.keepsAccess) this.outlet.access(record);
    this.sink?.add(record);
    for (const listener of this.listeners) listener(record);
  }

  async close(): Promise<void> {
    await this.outlet.close();
    await this.sink?.close();
  }
}

/** Key state saved by the workers, one save of a key at a time (each reads, adds and writes). */
export class KeyStates {
  private readonly queues = new Map<string, Promise<void>>();

  constructor(readonly space: KeyValueSpace) {}

  write(hash: string, fields: StoredKeyState, added: KeyCounts): Promise<void> {
    const previous = this.queues.get(hash) ?? Promise.resolve();
    const next = previous.then(async () => {
      const stored = (await this.space.get(hash)) as StoredKeyState | undefined;
      await this.space.set(hash, mergeStoredState(stored, fields, added));
    });
    const queued = next.catch(() => undefined);
    this.queues.set(hash, queued);
    void queued.then(() => this.queues.get(hash) === queued && this.queues.delete(hash));
    return next;
  }

  /** What the store says each key served. */
  async counts(hashes: readonly string[]): Promise<Map<string, KeyCounts>> {
    const out = new Map<string, KeyCounts>();
    for (const hash of hashes) {
      const stored = (await this.space.get(hash)) as StoredKeyState | undefined;
      if (stored) out.set(hash, stored);
    }
    return out;
  }
}

/** Answers one worker's calls and notes. */
export function servePrimaryOperations(link: WorkerLink, worker: number, services: PrimaryServices): void {
  const { counters, claims, records, log } = services;
  const counted = () => {
    if (!counters) throw new Error('the primary holds no counters (the store is Redis)');
    return counters;
  };
  const space = (name: string) => {
    if (!services.store) throw new Error('the primary holds no store (the store is Redis)');
    return services.store.namespace(name);
  };
  link.handle('counters.add', ({ key, points, ttlMs }) => counted().add(key, points, ttlMs));
  link.handle('counters.remove', ({ key, points }) => counted().remove(key, points));
  link.handle('counters.get', ({ key }) => counted().get(key));
  link.handle('kv.get', ({ space: name, key }) => space(name).get(key));
  link.handle('kv.set', ({ space: name, key, value, ttlMs }) => space(name).set(key, value, ttlMs));
  link.handle('kv.delete', ({ space: name, key }) => space(name).delete(key));
  link.handle('kv.clear', ({ space: name }) => space(name).clear());
  link.handle('kv.entries', async ({ space: name }) => {
    const entries: [string, unknown][] = [];
    for await (const entry of space(name).entries()) entries.push(entry);
    return entries;
  });
  link.handle('keys.write', ({ hash, fields, added }) => services.keyStates.write(hash, fields, added));
  link.handle('fills.claim', ({ key }) => claims.claim(key, worker));
  link.handle('fills.release', ({ key }) => claims.release(key));
  link.handle('fills.wait', ({ key, timeoutMs }) => claims.wait(key, timeoutMs));
  link.handle('access', (record) => records.access(record));
  link.handle('chat', (record) => {
    if (records.outlet.keepsChat) records.outlet.chat(record);
  });
  link.handle('log', ({ level, message, meta }) => log[level](message, meta));
}
