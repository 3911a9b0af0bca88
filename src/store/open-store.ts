/**
 * The one place that opens aifd's shared state: embedded SQLite (default), memory, or Redis.
 * Other modules get namespaced Keyv instances from here and never know which backend it is.
 */
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import Keyv from 'keyv';
import KeyvSqlite from '@keyv/sqlite';
import KeyvRedis from '@keyv/redis';

export type StoreKind = 'sqlite' | 'memory' | 'redis';

export interface Store {
  readonly kind: StoreKind;
  /** Where the state lives, for the banner (a path, or a redis address without credentials). */
  readonly location: string;
  /** A Keyv for one concern (`keys`, `revocations`, `cache`, ...). */
  namespace(name: string): Keyv;
  close(): Promise<void>;
}

export async function openStore(url: string): Promise<Store> {
  if (url === 'memory://') return memoryStore();
  if (url.startsWith('sqlite://')) return sqliteStore(url.slice('sqlite://'.length));
  if (url.startsWith('redis://') || url.startsWith('rediss://')) return redisStore(url);
  throw new Error(`unknown store "${url}"`);
}

function memoryStore(): Store {
  const spaces = new Map<string, Keyv>();
  return {
    kind: 'memory',
    location: 'memory',
    namespace(name) {
      let kv = spaces.get(name);
      if (!kv) spaces.set(name, (kv = new Keyv({ namespace: name })));
      return kv;
    },
    close: async () => undefined,
  };
}

/** Redis: every concern its own keyv namespace (`aifd:<name>:…`) on one server, shared by instances. */
async function redisStore(url: string): Promise<Store> {
  const adapters: KeyvRedis<unknown>[] = [];
  const spaces = new Map<string, Keyv>();
  const store: Store = {
    kind: 'redis',
    location: redactUrl(url),
    namespace(name) {
      let kv = spaces.get(name);
      if (!kv) {
        const adapter = new KeyvRedis(url, { throwOnConnectError: false });
        adapters.push(adapter);
        spaces.set(name, (kv = new Keyv({ store: adapter, namespace: `aifd:${name}`, useKeyPrefix: false })));
        kv.on('error', () => undefined);
      }
      return kv;
    },
    close: async () => {
      await Promise.all(adapters.map((adapter) => adapter.disconnect().catch(() => undefined)));
    },
  };
  await store.namespace('meta').get('version');
  return store;
}

/** A store URL as it may be shown: without a password. */
function redactUrl(url: string): string {
  const parsed = new URL(url);
  if (parsed.password) parsed.password = '***';
  return parsed.toString();
}

async function sqliteStore(file: string): Promise<Store> {
  await mkdir(path.dirname(file), { recursive: true });
  // One table per concern: no two concerns share an adapter's namespace or its clear().
  const adapters = new Map<string, KeyvSqlite>();
  const spaces = new Map<string, Keyv>();
  const store: Store = {
    kind: 'sqlite',
    location: file,
    namespace(name) {
      let kv = spaces.get(name);
      if (!kv) {
        const adapter = new KeyvSqlite({ uri: `sqlite://${file}`, table: `aifd_${name}`, busyTimeout: 5000 });
        adapters.set(name, adapter);
        spaces.set(name, (kv = new Keyv({ store: adapter, namespace: name })));
      }
      return kv;
    },
    close: async () => {
      await Promise.all([...adapters.values()].map((adapter) => adapter.disconnect()));
    },
  };
  // Open the file now, so that an unusable path fails at start and not on the first request.
  await store.namespace('meta').get('version');
  return store;
}
