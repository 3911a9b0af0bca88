/**
 * One worker of `--workers`: a whole gateway on the shared port whose store, limit counters,
 * cache claims, records and diagnostics are the primary's (a Redis store it reaches itself). It
 * answers the primary's admin questions and stops when told, or at once when the primary is gone.
 */
import cluster from 'node:cluster';
import { AggregatorRegistry } from 'prom-client';
import { hubAdminSource } from '../admin/admin-source.js';
import type { HubConfig } from '../config/schema.js';
import { createHub } from '../proxy/hub.js';
import { openStore } from '../store/open-store.js';
import { poolKeyName } from '../keys/snapshot.js';
import { IpcLink } from './ipc-link.js';
import type { PrimaryOperations, WorkerOperations } from './protocol.js';
import {
  primaryCounters,
  primaryDiagnostics,
  primaryFills,
  primaryKeyWriter,
  primaryOutlet,
  primaryStore,
  type PrimaryLink,
} from './worker-services.js';

export interface WorkerSource {
  config: HubConfig;
  loadConfig: () => Promise<HubConfig>;
}

export async function runWorker(load: () => Promise<WorkerSource>): Promise<void> {
  const link: PrimaryLink = new IpcLink<PrimaryOperations, WorkerOperations>({
    send: (message, sent) => process.send!(message, undefined, undefined, sent),
    isConnected: () => process.connected,
  });
  process.on('message', (message) => link.receive(message));
  // The primary handles signals for every worker (a terminal's Ctrl-C reaches the whole group).
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.on(signal, () => undefined);
  const id = cluster.worker?.id ?? 0;
  const fail = async (err: NodeJS.ErrnoException) => {
    link.notify('failed', { message: err.message, code: err.code });
    await link.drain();
    process.exit(1);
  };

  let source: WorkerSource;
  try {
    source = await load();
  } catch (err) {
    return fail(err as Error);
  }
  const { config } = source;
  const log = primaryDiagnostics(link, id, config.logs.level);
  const onRedis = config.store.startsWith('redis://') || config.store.startsWith('rediss://');
  const store = onRedis
    ? await openStore(config.store, { prefix: config.storePrefix })
    : primaryStore(link, config.store);
  const hub = createHub(config, {
    log,
    store,
    loadConfig: source.loadConfig,
    shared: {
      counters: onRedis ? undefined : primaryCounters(link),
      fills: onRedis ? undefined : primaryFills(link),
      records: primaryOutlet(link, config),
      keyWriter: primaryKeyWriter(link),
    },
  });
  const admin = hubAdminSource(hub);
  AggregatorRegistry.setRegistries([admin.registry]);
  // prom-client answers the primary's metrics requests once an aggregator exists in the worker.
  new AggregatorRegistry();
  // Key counts answer as what is not saved yet: the primary adds them to what the store holds.
  link.handle('gateway', async () => {
    const state = await admin.gateway();
    const unsaved = hub.unsavedKeyCounts();
    return {
      ...state,
      keys: state.keys.map((key) => ({ ...key, ...unsaved.get(poolKeyName(key.upstream, key.hash)) })),
    };
  });
  link.handle('nearest', ({ users }) => admin.nearest(users));
  link.handle('checkKeys', ({ upstream }) => admin.checkKeys(upstream));
  link.handle('reload', () => admin.reload());

  let stopping: Promise<void> | undefined;
  const stop = (graceMs?: number) =>
    (stopping ??= (async () => {
      await hub.close(graceMs);
      await store.close().catch(() => undefined);
      await link.drain();
      process.exit(0);
    })());
  link.handle('shutdown', ({ graceMs }) => void stop(graceMs));
  // The primary is gone (killed): what is in flight is cut, nothing waits for a store that left.
  process.on('disconnect', () => {
    link.close('the primary is gone');
    void stop(0);
  });

  try {
    const address = await hub.listen();
    link.notify('listening', { port: address.port, address: address.address, family: address.family });
  } catch (err) {
    await hub.close(0).catch(() => undefined);
    return fail(err as NodeJS.ErrnoException);
  }
}
