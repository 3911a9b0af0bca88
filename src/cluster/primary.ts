/**
 * The primary of `--workers`: forks the workers (node:cluster, one shared port), holds what must be
 * one for all of them (counters, store, cache claims, the logs, the SQL sink, the admin answers),
 * replaces a worker that dies, and stops or reloads them all together.
 */
import cluster, { type Worker } from 'node:cluster';
import type { AddressInfo } from 'node:net';
import type { AdminSource } from '../admin/admin-source.js';
import type { HubConfig } from '../config/schema.js';
import { counterBackend } from '../limits/counter-backend.js';
import { openCounters } from '../limits/counters.js';
import type { Diagnostics } from '../logs/diagnostics.js';
import { openSink } from '../logs/sinks/open-dialect.js';
import type { ReloadResult } from '../proxy/hub-api.js';
import { logFilesOutlet } from '../proxy/recorder.js';
import type { Store } from '../store/open-store.js';
import { clusterAdminSource, type WorkerHandle } from './cluster-admin-source.js';
import { FillClaims } from './fill-claims.js';
import { IpcLink } from './ipc-link.js';
import {
  KeyStates,
  PrimaryRecords,
  servePrimaryOperations,
  type PrimaryServices,
  type WorkerLink,
} from './primary-services.js';
import type { PrimaryOperations, WorkerOperations } from './protocol.js';

export interface PrimaryOptions {
  workers: number;
  log: Diagnostics;
  store: Store;
}

/** The gateway as the daemon runs it: a primary with its workers here, one process in run-action (the same shape). */
export interface RunningGateway {
  address: AddressInfo;
  admin: AdminSource;
  workers: number;
  inFlight(): Promise<number>;
  reload(): Promise<ReloadResult>;
  /** Lets what is in flight finish within the grace (every worker's), then closes what is held. */
  close(): Promise<void>;
}

/** A worker's start failed (it could not bind, or load): `code` as node gave it. */
class WorkerStartError extends Error {
  constructor(
    message: string,
    readonly code: string | undefined,
  ) {
    super(message);
  }
}

/** A worker that dies is replaced after this, doubled on each quick death up to the cap. */
const RESTART_DELAY_MS = 100;
const RESTART_DELAY_CAP_MS = 10_000;

export async function startPrimary(config: HubConfig, options: PrimaryOptions): Promise<RunningGateway> {
  const { log, store } = options;
  const onRedis = store.kind === 'redis';
  const counters = onRedis ? undefined : await openCounters(counterBackend(config, store));
  const records = new PrimaryRecords(logFilesOutlet(config, log), await openSink(config, log));
  const claims = new FillClaims();
  const services: PrimaryServices = {
    store: onRedis ? undefined : store,
    keyStates: new KeyStates(store.namespace('keys')),
    counters,
    claims,
    records,
    log,
  };
  const running = new Map<number, WorkerHandle>();
  let stopping = false;
  let restartDelay = RESTART_DELAY_MS;

  cluster.setupPrimary({ serialization: 'json' });

  /** Forks one worker; resolves with its address once it listens, rejects if it fails first. */
  const fork = () =>
    new Promise<AddressInfo>((resolve, reject) => {
      const worker: Worker = cluster.fork();
      const link: WorkerLink = new IpcLink<WorkerOperations, PrimaryOperations>({
        send: (message, sent) => worker.send(message as never, undefined, undefined, sent),
        isConnected: () => worker.isConnected(),
      });
      let listening = false;
      let failure: WorkerStartError | undefined;
      servePrimaryOperations(link, worker.id, services);
      link.handle('listening', (address) => {
        listening = true;
        running.set(worker.id, { id: worker.id, pid: worker.process.pid ?? 0, link });
        resolve(address as AddressInfo);
      });
      link.handle('failed', ({ message, code }) => {
        failure = new WorkerStartError(message, code);
      });
      worker.on('message', (message) => link.receive(message));
      worker.on('exit', (code, signal) => {
        link.close('the worker exited');
        running.delete(worker.id);
        claims.releaseAll(worker.id);
        if (!listening)
          return reject(failure ?? new WorkerStartError(`worker exited with ${signal ?? code}`, undefined));
        if (stopping) return;
        log.error('a worker exited; starting another', { worker: worker.id, pid: worker.process.pid, code, signal });
        replace();
      });
    });

  const replace = () => {
    const delay = restartDelay;
    restartDelay = Math.min(restartDelay * 2, RESTART_DELAY_CAP_MS);
    setTimeout(() => {
      if (stopping) return;
      fork().then(
        () => {
          restartDelay = RESTART_DELAY_MS;
          log.info('worker replaced', { workers: running.size });
        },
        (err: Error) => {
          log.error('a replacement worker failed to start; trying again', { error: err.message });
          replace();
        },
      );
    }, delay).unref();
  };

  const exited = () =>
    new Promise<void>((resolve) => {
      const check = () => {
        if (Object.keys(cluster.workers ?? {}).length === 0) {
          cluster.off('exit', check);
          resolve();
        }
      };
      cluster.on('exit', check);
      check();
    });

  const closeHeld = async () => {
    await records.close();
    await counters?.close();
  };

  let address: AddressInfo;
  try {
    const addresses = await Promise.all(Array.from({ length: options.workers }, fork));
    address = addresses[0]!;
  } catch (err) {
    stopping = true;
    for (const worker of Object.values(cluster.workers ?? {})) worker?.kill();
    await exited();
    await closeHeld();
    throw err;
  }

  const handles = () => [...running.values()];
  const admin = clusterAdminSource(services, store, handles, config);
  return {
    address,
    admin,
    workers: options.workers,
    inFlight: async () => (await admin.gateway()).inFlight,
    reload: () => admin.reload(),
    async close() {
      stopping = true;
      for (const worker of Object.values(cluster.workers ?? {})) if (worker && !running.has(worker.id)) worker.kill();
      for (const worker of handles()) worker.link.notify('shutdown', {});
      // A worker that outlives its grace (and the sessions' close) is stopped.
      const late = setTimeout(() => {
        for (const worker of Object.values(cluster.workers ?? {})) worker?.process.kill('SIGKILL');
      }, config.listen.shutdownGrace + 15_000);
      await exited();
      clearTimeout(late);
      await closeHeld();
    },
  };
}
