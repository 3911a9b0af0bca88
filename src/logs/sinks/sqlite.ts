import type { AccessRecord } from '../access-record.js';
import { openSqliteFile } from '../../store/sqlite-file.js';
import {
  COLUMNS,
  JSON_PATHS,
  missingColumns,
  pageQuery,
  recordOfRow,
  summarySql,
  toUsageRows,
  type SqlDialect,
  type UsageDimension,
} from './dialect.js';

/**
 * A batch goes in as one JSON text that SQLite itself takes apart (json_each): one parameter to
 * bind instead of 22 a record, and the parsing happens on SQLite's worker thread, not on the event
 * loop that serves requests.
 */
const INSERT_FROM_JSON = `INSERT OR IGNORE INTO aifd_requests (${COLUMNS.join(',')})
  SELECT ${JSON_PATHS.map((path) => `json_extract(value, '${path}')`).join(', ')} FROM json_each(?)`;

export async function openSqliteDialect(file: string): Promise<SqlDialect> {
  const { run, all, close } = await openSqliteFile(file);
  return {
    name: 'sqlite',
    async prepare() {
      await run('PRAGMA journal_mode=WAL');
      await run(`CREATE TABLE IF NOT EXISTS aifd_requests (
        id TEXT PRIMARY KEY, ts TEXT NOT NULL, user_name TEXT, ip TEXT, method TEXT, route TEXT, path TEXT, model TEXT,
        stream INTEGER, status INTEGER, upstream TEXT, key_hash TEXT, attempts INTEGER, cache TEXT, ttfb_ms REAL,
        duration_ms REAL, prompt_tokens INTEGER, completion_tokens INTEGER, total_tokens INTEGER, cached_tokens INTEGER,
        usage_source TEXT, error TEXT)`);
      await run('CREATE INDEX IF NOT EXISTS aifd_requests_ts ON aifd_requests (ts)');
      const existing = await all<{ name: string }>('PRAGMA table_info(aifd_requests)');
      for (const column of missingColumns(existing.map((row) => row.name)))
        await run(`ALTER TABLE aifd_requests ADD COLUMN ${column} INTEGER`);
    },
    async insert(records: readonly AccessRecord[]) {
      await run(INSERT_FROM_JSON, [JSON.stringify(records)]);
    },
    async summarize(by: UsageDimension, since: Date) {
      return toUsageRows(await all(summarySql(by, 'substr(ts, 1, 10)', '?'), [since.toISOString()]));
    },
    async recordsPage(since, until, after, limit) {
      const { sql, params } = pageQuery(
        () => '?',
        (at) => at.toISOString(),
        { since, until, after, limit },
      );
      return (await all<Record<string, unknown>>(sql, params)).map(recordOfRow);
    },
    close,
  };
}
