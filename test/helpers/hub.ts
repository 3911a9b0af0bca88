/** Starts aifd in-process on an ephemeral port, for integration tests over real sockets. */
import { mkdtemp } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { validate } from '../../src/config/load.js';
import type { HubConfig, HubConfigInput } from '../../src/config/schema.js';
import { silentDiagnostics, type Diagnostics } from '../../src/logs/diagnostics.js';
import { createHub, type Hub } from '../../src/proxy/hub.js';
import { createAdminServer } from '../../src/admin/admin-server.js';
import { hubAdminSource } from '../../src/admin/admin-source.js';
import { openStore, type Store } from '../../src/store/open-store.js';
import type { AccessRecord } from '../../src/logs/access-record.js';
import type { KeyView } from '../../src/keys/snapshot.js';
import { readJsonLines } from './logs.js';
import { afterEach } from 'vitest';

export interface RunningHub {
  hub: Hub;
  config: HubConfig;
  url: string;
  /** The OpenAI SDK base URL for a route prefix. */
  baseURL(route?: string): string;
  close(): Promise<void>;
  /** Closes the gateway (it waits for requests still finishing) and returns its access-log records. */
  closeAndReadAccessLog(): Promise<AccessRecord[]>;
}

export async function startHub(
  input: Partial<HubConfigInput> & Pick<HubConfigInput, 'upstreams'>,
  options: { store?: Store; log?: Diagnostics } = {},
): Promise<RunningHub> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'aifd-test-'));
  const config = validate(
    {
      store: 'memory://',
      ...input,
      logs: { dir: path.join(dir, 'logs'), ...input.logs },
      listen: { host: '127.0.0.1', port: 0, ...input.listen },
    },
    'test config',
  );
  const store = options.store ?? (await openStore('memory://'));
  const hub = createHub(config, { log: options.log ?? silentDiagnostics, store });
  const address = await hub.listen();
  const url = `http://127.0.0.1:${address.port}`;
  return {
    hub,
    config,
    url,
    baseURL: (route = '') => `${url}${route}/v1`,
    close: () => hub.close(1000),
    closeAndReadAccessLog: async () => {
      await hub.close(1000);
      return readJsonLines<AccessRecord>(config.logs.dir, 'access-');
    },
  };
}

type HubInput = Parameters<typeof startHub>[0];
type HubStartOptions = Parameters<typeof startHub>[1];

/**
 * Starts hubs for the enclosing describe block's tests and closes every one after each test
 * (closing twice is harmless: a test may close its hub itself to read the access log).
 */
export function useHub(): { start(input: HubInput, options?: HubStartOptions): Promise<RunningHub> } {
  const open: RunningHub[] = [];
  afterEach(async () => {
    await Promise.all(open.splice(0).map((running) => running.close()));
  });
  return {
    async start(input, options) {
      const running = await startHub(input, options);
      open.push(running);
      return running;
    },
  };
}

/** The pool keys of a running hub as `keys list` and the admin `/state` show them, in config order. */
export function keyViews(running: RunningHub, upstream?: string): KeyView[] {
  return running.hub.keyViews().filter((view) => upstream === undefined || view.upstream === upstream);
}

export interface RunningAdmin {
  url: string;
  close(): Promise<void>;
}

/** Starts the admin listener of an in-process hub on an ephemeral loopback port. */
export async function startAdmin(hub: Hub, token: string, tls?: { cert: string; key: string }): Promise<RunningAdmin> {
  const admin = createAdminServer(hubAdminSource(hub), { host: '127.0.0.1', port: 0, token, tls, version: 'test' });
  const address = await admin.listen();
  return { url: `${tls ? 'https' : 'http'}://127.0.0.1:${address.port}`, close: () => admin.close() };
}
