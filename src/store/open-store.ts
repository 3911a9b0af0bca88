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

/** One concern's Keyv, and how to let go of what it holds. */
interface Namespace {
  kv: Keyv;
  close(): Promise<void>;
}

/** A store whose namespaces are opened on first use and closed together. */
function storeOf(kind: StoreKind, location: string, open: (name: string) => Namespace): Store {
  const spaces = new Map<string, Namespace>();
  return {
    kind,
    location,
    namespace(name) {
      let space = spaces.get(name);
      if (!space) spaces.set(name, (space = open(name)));
      return space.kv;
    },
    close: async () => {
      await Promise.all([...spaces.values()].map((space) => space.close().catch(() => undefined)));
    },
  };
}

function memoryStore(): Store {
  return storeOf('memory', 'memory', (name) => ({ kv: new Keyv({ namespace: name }), close: async () => undefined }));
}

/** Redis: every concern its own keyv namespace (`aifd:<name>:…`) on one server, shared by instances. */
async function redisStore(url: string): Promise<Store> {
  const store = storeOf('redis', redactUrl(url), (name) => {
    const adapter = new KeyvRedis(url, { throwOnConnectError: false });
    const kv = new Keyv({ store: adapter, namespace: `aifd:${name}`, useKeyPrefix: false });
    kv.on('error', () => undefined);
    return { kv, close: () => adapter.disconnect() };
  });
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
  const store = storeOf('sqlite', file, (name) => {
    const adapter = new KeyvSqlite({ uri: `sqlite://${file}`, table: `aifd_${name}`, busyTimeout: 5000 });
    return { kv: new Keyv({ store: adapter, namespace: name }), close: () => adapter.disconnect() };
  });
  // Open the file now, so that an unusable path fails at start and not on the first request.
  await store.namespace('meta').get('version');
  return store;
}
