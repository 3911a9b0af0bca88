import chalk from 'chalk';
import { loadConfig } from '../config/load.js';
import { isUsable, type KeyCheckResult } from '../keys/check.js';
import { checkAndStore, storedKeyViews } from '../keys/offline.js';
import type { KeyView } from '../keys/snapshot.js';
import { withStore } from './store-access.js';
import { adminRequest, daemonAddress } from './daemon-client.js';
import { CliError, EXIT_FAILURE, EXIT_USAGE } from './exit-codes.js';
import { colorStatus, formatMs, printJson, renderTable } from './output.js';

export interface KeysOptions {
  config?: string;
  json?: boolean;
  upstream?: string;
  token?: string;
}

export async function listKeys(options: KeysOptions): Promise<void> {
  const { config } = await loadConfig({ configPath: options.config });
  const address = await daemonAddress(config, options.token);
  const live = address ? await adminRequest<{ keys: KeyView[] }>(address, 'GET', '/state', 3000) : undefined;
  const views = live ? live.keys : await withStore(config, (store) => storedKeyViews(config, store));
  const source = live
    ? `live from the running daemon (${address!.adminUrl})`
    : 'daemon not running: from config and stored state';
  if (options.json) {
    printJson({ source: live ? 'daemon' : 'stored', keys: views });
    return;
  }
  process.stderr.write(chalk.dim(`${source}\n`));
  if (views.length === 0) {
    process.stdout.write('no pool keys configured (every upstream passes the client key through)\n');
    return;
  }
  process.stdout.write(
    renderTable(
      [
        'UPSTREAM',
        'HASH',
        'KEY',
        'STATUS',
        'IN-FLIGHT',
        'REQUESTS',
        'TOKENS',
        'REQ/MIN',
        'REMAINING REQ/TOK',
        'RESET',
        'RECOVERS',
        'LAST ERROR',
        'LAST USED',
      ],
      views.map((view) => [
        view.upstream,
        view.hash,
        view.label ? `${view.key} (${view.label})` : view.key,
        colorStatus(view.status),
        view.sessions > 0 ? `${view.inFlight} (${view.sessions} ws)` : String(view.inFlight),
        String(view.requests),
        String(view.promptTokens + view.completionTokens),
        String(view.requestsPerMinute),
        `${view.remainingRequests ?? '-'}/${view.remainingTokens ?? '-'}`,
        formatMs(Math.max(view.resetRequestsInMs ?? 0, view.resetTokensInMs ?? 0) || null),
        formatMs(view.recoversInMs),
        view.lastError ?? '-',
        view.lastUsedAt ?? '-',
      ]),
    ),
  );
}

export async function checkKeys(options: KeysOptions): Promise<void> {
  const { config } = await loadConfig({ configPath: options.config });
  if (options.upstream && !config.upstreams.some((upstream) => upstream.name === options.upstream)) {
    throw new CliError(`no upstream named "${options.upstream}" in the config`, EXIT_USAGE);
  }
  const address = await daemonAddress(config, options.token);
  const query = options.upstream ? `?upstream=${encodeURIComponent(options.upstream)}` : '';
  const live = address
    ? await adminRequest<{ results: KeyCheckResult[] }>(address, 'POST', `/keys/check${query}`)
    : undefined;
  const results = live
    ? live.results
    : await withStore(config, (store) => checkAndStore(config, store, options.upstream));
  if (options.json) printJson({ source: live ? 'daemon' : 'direct', results });
  else
    printCheck(
      results,
      live
        ? `checked by the running daemon (${address!.adminUrl})`
        : 'checked directly (daemon not running); results stored',
    );
  if (results.some((result) => !isUsable(result.verdict))) process.exitCode = EXIT_FAILURE;
}

function printCheck(results: KeyCheckResult[], source: string): void {
  process.stderr.write(chalk.dim(`${source}\n`));
  if (results.length === 0) {
    process.stdout.write('no pool keys to check\n');
    return;
  }
  process.stdout.write(
    renderTable(
      ['UPSTREAM', 'HASH', 'KEY', 'RESULT', 'DETAIL', 'MODELS'],
      results.map((result) => [
        result.upstream,
        result.hash,
        result.label ? `${result.key} (${result.label})` : result.key,
        colorStatus(result.verdict),
        result.detail,
        result.models ? summarizeModels(result.models) : '-',
      ]),
    ),
  );
}

function summarizeModels(models: string[]): string {
  return models.length <= 4 ? models.join(', ') : `${models.slice(0, 4).join(', ')} (+${models.length - 4})`;
}
