import type { HubConfig } from '../../config/schema.js';
import type { Diagnostics } from '../diagnostics.js';
import { createJsonLinesFile } from '../json-lines-file.js';
import type { SqlDialect } from './dialect.js';
import { SqlSink } from './sql-sink.js';

/** Where request records go for reports: `auto` is the store's SQLite file, when the store is SQLite. */
export function sinkUrl(config: HubConfig): string | undefined {
  const sink = config.logs.sink;
  if (sink === 'none') return undefined;
  if (sink === 'auto') return config.store.startsWith('sqlite://') ? config.store : undefined;
  return sink;
}

export async function openDialect(url: string): Promise<SqlDialect> {
  // Each driver loads only when its database is used.
  if (url.startsWith('sqlite://'))
    return (await import('./sqlite.js')).openSqliteDialect(url.slice('sqlite://'.length));
  if (url.startsWith('postgres://') || url.startsWith('postgresql://'))
    return (await import('./postgres.js')).openPostgresDialect(url);
  if (url.startsWith('mysql://') || url.startsWith('mariadb://'))
    return (await import('./mysql.js')).openMysqlDialect(url.replace(/^mariadb:/, 'mysql:'));
  throw new Error(`unknown sink "${url}" (expected sqlite://, postgres:// or mysql://)`);
}

/** The SQL sink the config asks for, with its fallback file; undefined when there is none. */
export async function openSink(config: HubConfig, log: Diagnostics): Promise<SqlSink | undefined> {
  const url = sinkUrl(config);
  if (!url) return undefined;
  // Made with its first line: most daemons never need it.
  const fallback = createJsonLinesFile({ dir: config.logs.dir, filename: 'sink-fallback-%DATE%.log', log, lazy: true });
  return new SqlSink(await openDialect(url), { batchSize: 200, flushEveryMs: 1000, maxBacklog: 10_000, fallback, log });
}
