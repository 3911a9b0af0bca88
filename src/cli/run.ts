import type { Command } from 'commander';
import { loadConfig } from '../config/load.js';
import { createDiagnostics } from '../logs/diagnostics.js';
import { createHub } from '../proxy/hub.js';
import { openStore } from '../store/open-store.js';
import { renderBanner } from './banner.js';
import { CliError, EXIT_FAILURE } from './exit-codes.js';
import { parsePort } from './options.js';
import { packageVersion } from './version.js';

interface RunOptions {
  config?: string;
  host?: string;
  port?: number;
  quiet?: boolean;
}

export function makeRunCommand(program: Command): void {
  program
    .command('run')
    .description('start the gateway daemon')
    .option('-c, --config <file>', 'config file (default: search for hub.config.json, .aifdrc*, aifd.config.*)')
    .option('--host <host>', 'listen address (overrides listen.host)')
    .option('-p, --port <port>', 'listen port (overrides listen.port)', parsePort)
    .option('-q, --quiet', 'no banner; only warnings and errors on the console')
    .action(async (options: RunOptions) => runDaemon(options));
}

async function runDaemon(options: RunOptions): Promise<void> {
  const { config, file } = await loadConfig({
    configPath: options.config,
    overrides: { host: options.host, port: options.port },
  });
  const log = await createDiagnostics({ dir: config.logs.dir, level: config.logs.level, quiet: options.quiet });
  const store = await openStore(config.store).catch((err: Error) => {
    throw new CliError(`cannot open the store ${config.store}: ${err.message}`, EXIT_FAILURE);
  });
  const hub = createHub(config, { log, store });
  const address = await hub.listen().catch((err: NodeJS.ErrnoException) => {
    const where = `${config.listen.host}:${config.listen.port}`;
    if (err.code === 'EADDRINUSE') throw new CliError(`cannot listen on ${where}: the address is already in use`, EXIT_FAILURE, 'stop the other process or choose another --port');
    throw new CliError(`cannot listen on ${where}: ${err.message}`, EXIT_FAILURE);
  });
  const shown = `http://${address.family === 'IPv6' ? `[${address.address}]` : address.address}:${address.port}`;
  if (!options.quiet) {
    process.stderr.write(renderBanner({ version: packageVersion(), config, configFile: file, address: shown, storeLocation: store.location }));
  }
  log.info('aifd started', { address: shown, upstreams: config.upstreams.length });

  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info('shutting down', { signal, inFlight: hub.inFlight() });
    await hub.close();
    await store.close().catch(() => undefined);
    log.info('stopped');
    await log.close();
    process.exit(0);
  };
  process.on('SIGINT', () => void stop('SIGINT'));
  process.on('SIGTERM', () => void stop('SIGTERM'));
}
