import type { HubConfig } from '../config/schema.js';
import type { Store } from '../store/open-store.js';
import type { CounterBackend } from './counters.js';

/** Limits count where the state lives: memory, the SQLite store, or Redis. */
export function counterBackend(config: HubConfig, store: Store | undefined): CounterBackend {
  if (config.store.startsWith('sqlite://')) return { kind: 'sqlite', file: config.store.slice('sqlite://'.length) };
  if (config.store.startsWith('redis://') || config.store.startsWith('rediss://')) {
    return {
      kind: 'redis',
      url: config.store,
      prefix: config.storePrefix,
      onDown: config.limits?.onStoreDown ?? 'open',
      health: store?.health,
    };
  }
  return { kind: 'memory' };
}
