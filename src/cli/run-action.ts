import cluster from 'node:cluster';
import { loadConfig } from '../config/load.js';
import { createDiagnostics, type Diagnostics } from '../logs/diagnostics.js';
import { createHub } from '../proxy/hub.js';
import { openConfiguredStore } from './store-access.js';
import { renderBanner } from './banner.js';
import { budgetWarnings } from '../limits/unpriced.js';
import type { AddressInfo } from 'node:net';
import { watch } from 'node:fs';
import path from 'node:path';
import type { AdminServer } from '../admin/admin-server.js';
import type { AdminSource } from '../admin/admin-source.js';
import type { HubConfig } from '../config/schema.js';
import type { Store } from '../store/open-store.js';
import { workerCount } from '../cluster/worker-count.js';
import type { RunningGateway } from '../cluster/primary.js';
import { removeRuntimeFile, writeRuntimeFile } from '../store/runtime-file.js';
import { CliError, EXIT_FAILURE, EXIT_USAGE } from './exit-codes.js';
import { packageVersion } from '../util/package-version.js';

export interface RunOptions {
  config?: string;
  host?: string;
  port?: number;
  adminPort?: number;
  workers?: number | 'auto';
  quiet?: boolean;
  /** Reload when the config file changes. */
  watchConfig?: boolean;
}

export async function runDaemon(options: RunOptions): Promise<void> {
  const source = {
    configPath: options.config,
    overrides: { host: options.host, port: options.port, adminPort: options.adminPort, workers: options.workers },
  };
  if (cluster.isWorker) {
    const { runWorker } = await import('../cluster/worker.js');
    return runWorker(async () => {
      const loaded = await loadConfig(source);
      const reloadSource = { ...source, configPath: loaded.file ?? options.config };
      return { config: loaded.config, loadConfig: async () => (await loadConfig(reloadSource)).config };
    });
  }
  const loaded = await loadConfig(source);
  const { config, file } = loaded;
  const count = workerCount(config.listen.workers);
  if (!count.ok) throw new CliError(`--workers: ${count.error}`, EXIT_USAGE);
  const log = await createDiagnostics({ dir: config.logs.dir, level: config.logs.level, quiet: options.quiet });
  const store = await openConfiguredStore(config);
  // A reload rereads the file that was found at start (not a new search), with the same overrides.
  const reloadSource = { ...source, configPath: file ?? options.config };
  const where = `${config.listen.host}:${config.listen.port}`;
  const gateway = await (count.workers > 1
    ? startWorkers(config, count.workers, log, store)
    : startHub(config, log, store, async () => (await loadConfig(reloadSource)).config)
  ).catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'EADDRINUSE')
      throw new CliError(
        `cannot listen on ${where}: the address is already in use`,
        EXIT_FAILURE,
        'stop the other process or choose another --port',
      );
    throw new CliError(`cannot listen on ${where}: ${err.message}`, EXIT_FAILURE);
  });
  const shown = urlOf(gateway.address, config.listen.tls !== undefined);
  const admin = await startAdmin(gateway.admin, config);
  await writeRuntimeFile(config, {
    pid: process.pid,
    url: shown,
    adminUrl: admin?.url,
    startedAt: new Date().toISOString(),
  });
  if (!options.quiet) {
    process.stderr.write(
      renderBanner({
        version: packageVersion(),
        config,
        configFile: file,
        fromVariables: loaded.fromVariables,
        ignoredVariables: loaded.ignoredVariables,
        envFile: loaded.envFile && path.relative(process.cwd(), loaded.envFile.file),
        address: shown,
        adminAddress: admin?.url,
        storeLocation: store.location,
        workers: gateway.workers,
      }),
    );
  }
  log.info('aifd started', { address: shown, upstreams: config.upstreams.length, workers: gateway.workers });
  for (const warning of [...loaded.notes, ...budgetWarnings(config)]) log.warn(warning);

  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info('shutting down', { signal, inFlight: await gateway.inFlight().catch(() => null) });
    await admin?.server.close();
    await gateway.close();
    await removeRuntimeFile(config).catch(() => undefined);
    await store.close().catch(() => undefined);
    log.info('stopped');
    await log.close();
    process.exit(0);
  };
  process.on('SIGINT', () => void stop('SIGINT'));
  process.on('SIGTERM', () => void stop('SIGTERM'));
  process.on('SIGHUP', () => {
    void gateway.reload();
    admin?.server
      .reloadTls()
      .catch((err: Error) => log.error('admin.tls: the certificate stays', { error: err.message }));
  });
  if (options.watchConfig) {
    if (!file) log.warn('--watch-config: there is no config file to watch');
    else watchConfigFile(file, () => void gateway.reload());
  }
}

async function startHub(
  config: HubConfig,
  log: Diagnostics,
  store: Store,
  reread: () => Promise<HubConfig>,
): Promise<RunningGateway> {
  const hub = createHub(config, { log, store, loadConfig: reread });
  const address = await hub.listen();
  const { hubAdminSource } = await import('../admin/admin-source.js');
  return {
    address,
    admin: hubAdminSource(hub),
    workers: 1,
    inFlight: async () => hub.inFlight(),
    reload: () => hub.reloadFromSource(),
    close: () => hub.close(),
  };
}

async function startWorkers(
  config: HubConfig,
  workers: number,
  log: Diagnostics,
  store: Store,
): Promise<RunningGateway> {
  const { startPrimary } = await import('../cluster/primary.js');
  return startPrimary(config, { workers, log, store });
}

/** Calls `onChange` once an edit of the file settles (editors write in several steps). */
function watchConfigFile(file: string, onChange: () => void): void {
  let timer: NodeJS.Timeout | undefined;
  // Watching the folder survives editors that replace the file instead of writing it.
  const name = path.basename(file);
  watch(path.dirname(file), (_event, changed) => {
    if (changed !== null && changed !== name) return;
    clearTimeout(timer);
    timer = setTimeout(onChange, 200);
  }).unref();
}

function urlOf(address: AddressInfo, tls: boolean): string {
  return `${tls ? 'https' : 'http'}://${address.family === 'IPv6' ? `[${address.address}]` : address.address}:${address.port}`;
}

async function startAdmin(
  source: AdminSource,
  config: HubConfig,
): Promise<{ server: AdminServer; url: string } | undefined> {
  if (!config.admin.enabled) return undefined;
  let server: AdminServer;
  try {
    const { createAdminServer } = await import('../admin/admin-server.js');
    server = createAdminServer(source, {
      host: config.admin.host,
      port: config.admin.port,
      token: config.admin.token,
      tls: config.admin.tls,
      version: packageVersion(),
    });
  } catch (err) {
    throw new CliError((err as Error).message, EXIT_USAGE, 'set admin.token, or keep admin.host on loopback');
  }
  const where = `${config.admin.host}:${config.admin.port}`;
  const address = await server.listen().catch((err: NodeJS.ErrnoException) => {
    const reason = err.code === 'EADDRINUSE' ? 'the address is already in use' : err.message;
    throw new CliError(
      `cannot listen on ${where} (admin): ${reason}`,
      EXIT_FAILURE,
      'choose another admin.port, or set admin.enabled to false',
    );
  });
  return { server, url: urlOf(address, config.admin.tls !== undefined) };
}
