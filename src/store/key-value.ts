/**
 * What the rest of aifd sees of one concern's part of the store: get, set, delete, clear and a walk.
 * Keyv stays inside store/; a worker of `--workers` sees the primary's store through the same shape.
 */
import type Keyv from 'keyv';

export interface KeyValueSpace {
  get(key: string): Promise<unknown>;
  /** `ttlMs`: forgotten after this long (kept until deleted without it). */
  set(key: string, value: unknown, ttlMs?: number): Promise<void>;
  delete(key: string): Promise<void>;
  clear(): Promise<void>;
  /** Every live entry (none when the backend cannot walk its keys). */
  entries(): AsyncIterable<[string, unknown]>;
}

export function keyvSpace(kv: Keyv): KeyValueSpace {
  return {
    get: (key) => kv.get(key),
    set: async (key, value, ttlMs) => {
      await kv.set(key, value, ttlMs);
    },
    delete: async (key) => {
      await kv.delete(key);
    },
    clear: () => kv.clear(),
    async *entries() {
      if (!kv.iterator) return;
      for await (const [key, value] of kv.iterator(undefined)) yield [String(key), value];
    },
  };
}
