import type { HubConfig } from '../../config/schema.js';
import type { SqlDialect } from './dialect.js';

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
