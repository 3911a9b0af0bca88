import pg from 'pg';
import type { AccessRecord } from '../access-record.js';
import {
  COLUMNS,
  missingColumns,
  pageQuery,
  recordOfRow,
  rowOf,
  summarySql,
  toUsageRows,
  type SqlDialect,
  type UsageDimension,
} from './dialect.js';

export function openPostgresDialect(url: string): SqlDialect {
  const pool = new pg.Pool({ connectionString: url, max: 4, connectionTimeoutMillis: 5000 });
  // An idle client losing its server must not crash the process; the next query reconnects.
  pool.on('error', () => undefined);
  return {
    name: 'postgres',
    async prepare() {
      await pool.query(`CREATE TABLE IF NOT EXISTS aifd_requests (
        id TEXT PRIMARY KEY, ts TIMESTAMPTZ NOT NULL, user_name TEXT, ip TEXT, method TEXT, route TEXT, path TEXT, model TEXT,
        stream BOOLEAN, status INTEGER, upstream TEXT, key_hash TEXT, attempts INTEGER, cache TEXT, ttfb_ms DOUBLE PRECISION,
        duration_ms DOUBLE PRECISION, prompt_tokens INTEGER, completion_tokens INTEGER, total_tokens INTEGER, cached_tokens INTEGER,
        usage_source TEXT, error TEXT)`);
      await pool.query('CREATE INDEX IF NOT EXISTS aifd_requests_ts ON aifd_requests (ts)');
      const existing = await pool.query<{ column_name: string }>(
        "SELECT column_name FROM information_schema.columns WHERE table_name = 'aifd_requests' AND table_schema = current_schema()",
      );
      for (const column of missingColumns(existing.rows.map((row) => row.column_name)))
        await pool.query(`ALTER TABLE aifd_requests ADD COLUMN IF NOT EXISTS ${column} INTEGER`);
    },
    async insert(records: readonly AccessRecord[]) {
      const values: unknown[] = [];
      const rows = records.map((record) => {
        const start = values.length;
        values.push(...rowOf(record));
        return `(${COLUMNS.map((_, i) => `$${start + i + 1}`).join(',')})`;
      });
      await pool.query(
        `INSERT INTO aifd_requests (${COLUMNS.join(',')}) VALUES ${rows.join(',')} ON CONFLICT (id) DO NOTHING`,
        values,
      );
    },
    async summarize(by: UsageDimension, since: Date) {
      const result = await pool.query(summarySql(by, "to_char(ts AT TIME ZONE 'UTC', 'YYYY-MM-DD')", '$1'), [since]);
      return toUsageRows(result.rows as Record<string, unknown>[]);
    },
    async recordsPage(since, until, after, limit) {
      const { sql, params } = pageQuery(
        (n) => `$${n}`,
        (at) => at,
        { since, until, after, limit },
      );
      return ((await pool.query(sql, params)).rows as Record<string, unknown>[]).map(recordOfRow);
    },
    close: () => pool.end(),
  };
}
