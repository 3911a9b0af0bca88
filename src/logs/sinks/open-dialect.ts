import type { HubConfig } from '../../config/schema.js';
import type { SqlDialect } from './dialect.js';
import { openMysqlDialect } from './mysql.js';
import { openPostgresDialect } from './postgres.js';
import { openSqliteDialect } from './sqlite.js';

/** Where request records go for reports: `auto` is the store's SQLite file, when the store is SQLite. */
export function sinkUrl(config: HubConfig): string | undefined {
  const sink = config.logs.sink;
  if (sink === 'none') return undefined;
  if (sink === 'auto') return config.store.startsWith('sqlite://') ? config.store : undefined;
  return sink;
}

export async function openDialect(url: string): Promise<SqlDialect> {
  if (url.startsWith('sqlite://')) return openSqliteDialect(url.slice('sqlite://'.length));
  if (url.startsWith('postgres://') || url.startsWith('postgresql://')) return openPostgresDialect(url);
  if (url.startsWith('mysql://') || url.startsWith('mariadb://')) return openMysqlDialect(url.replace(/^mariadb:/, 'mysql:'));
  throw new Error(`unknown sink "${url}" (expected sqlite://, postgres:// or mysql://)`);
}
