/**
 * The one place that opens aifd's shared state: embedded SQLite (default), memory, or Redis.
 * Other modules get one KeyValueSpace per concern from here and never know which backend it is.
 */
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import Keyv from 'keyv';
import type { Redis } from 'ioredis';
import { keyvSpace, type KeyValueSpace } from './key-value.js';
import { StoreHealth } from './store-health.js';

/** `primary`: a worker of `--workers` reaching the primary's store. */
type StoreKind = 'sqlite' | 'memory' | 'redis' | 'primary';

export interface Store {
  readonly kind: StoreKind;
  /** Where the state lives, for the banner (a path, or a redis address without credentials). */
  readonly location: string;
  /** Prefix of every key aifd writes in a shared store (Redis). */
  readonly prefix: string;
  /** Whether a networked store can be reached now (memory and SQLite are always up). */
  readonly health: StoreHealth;
  /** One concern's entries (`keys`, `revocations`, `cache`, ...). */
  namespace(name: string): KeyValueSpace;
  close(): Promise<void>;
}

export interface StoreOptions {
  /** Prefix of every Redis key (several gateways can share one Redis). */
  prefix?: string;
}

const DEFAULT_STORE_PREFIX = 'aifd:';

export async function openStore(url: string, options: StoreOptions = {}): Promise<Store> {
  const prefix = options.prefix ?? DEFAULT_STORE_PREFIX;
  if (url === 'memory://') return memoryStore(prefix);
  if (url.startsWith('sqlite://')) return sqliteStore(url.slice('sqlite://'.length), prefix);
  if (url.startsWith('redis://') || url.startsWith('rediss://')) return redisStore(url, prefix);
  throw new Error(`unknown store "${url}"`);
}

/** One concern's entries, and how to let go of what it holds. */
export interface Namespace {
  kv: KeyValueSpace;
  close(): Promise<void>;
}

/** A store whose namespaces are opened on first use and closed together. */
export function storeOf(
  kind: StoreKind,
  location: string,
  prefix: string,
  open: (name: string) => Namespace,
  health = new StoreHealth(),
): Store {
  const spaces = new Map<string, Namespace>();
  return {
    kind,
    location,
    prefix,
    health,
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

function memoryStore(prefix: string): Store {
  return storeOf('memory', 'memory', prefix, (name) => ({
    kv: keyvSpace(new Keyv({ namespace: name })),
    close: async () => undefined,
  }));
}

/**
 * Redis: every concern its own keyv namespace (`<prefix><name>:…`) on one server, shared by
 * instances. Commands fail at once while Redis is away (no offline queue: a request must never
 * wait on a dead store), the client reconnects by itself, and StoreHealth hears of both.
 */
async function redisStore(url: string, prefix: string): Promise<Store> {
  const { default: KeyvRedis } = await import('@keyv/redis');
  const health = new StoreHealth();
  const store = storeOf(
    'redis',
    redactUrl(url),
    prefix,
    (name) => {
      const adapter = new KeyvRedis(
        { url, disableOfflineQueue: true, socket: { connectTimeout: 2000, reconnectStrategy: redisReconnectDelay } },
        { throwOnConnectError: false },
      );
      const connection = `keyv:${name}`;
      adapter.client.on('error', (err: Error) => health.failed(connection, err.message));
      adapter.client.on('ready', () => health.ready(connection));
      const kv = new Keyv({ store: adapter, namespace: `${prefix}${name}`, useKeyPrefix: false });
      kv.on('error', () => undefined);
      return { kv: keyvSpace(kv), close: () => adapter.disconnect() };
    },
    health,
  );
  await store.namespace('meta').get('version');
  return store;
}

/** Reconnect soon, then every 2 s at most: Redis coming back is noticed within seconds. */
function redisReconnectDelay(attempt: number): number {
  return Math.min(100 * 2 ** attempt, 2000);
}

/**
 * An ioredis client (not yet connected) for what keyv cannot do (counters, claims, pub/sub) with
 * the store's policy: commands fail at once while Redis is away (no offline queue, one try) and
 * the client reconnects by itself. Errors are the caller's to watch; unwatched, they are dropped.
 */
export async function redisClient(url: string, options: { offlineQueue?: boolean } = {}): Promise<Redis> {
  const { Redis } = await import('ioredis');
  const client = new Redis(url, {
    enableOfflineQueue: options.offlineQueue ?? false,
    maxRetriesPerRequest: 1,
    lazyConnect: true,
    retryStrategy: redisReconnectDelay,
  });
  client.on('error', () => undefined);
  return client;
}

/** A store URL as it may be shown: without a password. */
function redactUrl(url: string): string {
  const parsed = new URL(url);
  if (parsed.password) parsed.password = '***';
  return parsed.toString();
}

/** The native SQLite driver did not load: installed without its prebuilt binary and without build tools. */
function sqliteDriverMissing(err: Error): Error {
  const first = err.message.split('\n', 1)[0];
  return new Error(
    `the SQLite driver (sqlite3) cannot load (${first}); reinstall aifd where npm can fetch sqlite3's prebuilt binary or build it (python3, make and a C++ compiler), or choose "store": "memory://" or a redis:// store`,
  );
}

async function sqliteStore(file: string, prefix: string): Promise<Store> {
  const { default: KeyvSqlite } = await import('@keyv/sqlite').catch((err: Error) => {
    throw sqliteDriverMissing(err);
  });
  await mkdir(path.dirname(file), { recursive: true });
  // One table per concern: no two concerns share an adapter's namespace or its clear().
  const store = storeOf('sqlite', file, prefix, (name) => {
    const adapter = new KeyvSqlite({ uri: `sqlite://${file}`, table: `aifd_${name}`, busyTimeout: 5000 });
    return { kv: keyvSpace(new Keyv({ store: adapter, namespace: name })), close: () => adapter.disconnect() };
  });
  // Open the file now, so that an unusable path fails at start and not on the first request.
  await store.namespace('meta').get('version');
  return store;
}
