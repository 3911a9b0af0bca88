import mysql from 'mysql2/promise';
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

/** MySQL and MariaDB. */
export function openMysqlDialect(url: string): SqlDialect {
  const pool = mysql.createPool({ uri: url, connectionLimit: 4, connectTimeout: 5000, timezone: 'Z' });
  return {
    name: 'mysql',
    async prepare() {
      await pool.query(`CREATE TABLE IF NOT EXISTS aifd_requests (
        id VARCHAR(64) PRIMARY KEY, ts DATETIME(3) NOT NULL, user_name VARCHAR(255), ip VARCHAR(64), method VARCHAR(16),
        route VARCHAR(255), path TEXT, model VARCHAR(255), stream BOOLEAN, status INT, upstream VARCHAR(255),
        key_hash VARCHAR(32), attempts INT, cache VARCHAR(16), ttfb_ms DOUBLE, duration_ms DOUBLE, prompt_tokens INT,
        completion_tokens INT, total_tokens INT, cached_tokens INT, usage_source VARCHAR(16), error VARCHAR(255),
        INDEX aifd_requests_ts (ts))`);
      const [existing] = await pool.query(
        "SELECT column_name AS name FROM information_schema.columns WHERE table_name = 'aifd_requests' AND table_schema = DATABASE()",
      );
      for (const column of missingColumns((existing as { name: string }[]).map((row) => row.name)))
        await pool.query(`ALTER TABLE aifd_requests ADD COLUMN ${column} INT`);
    },
    async insert(records: readonly AccessRecord[]) {
      const rows = records.map((record) => {
        const row = rowOf(record);
        row[1] = new Date(record.ts);
        return row;
      });
      await pool.query(`INSERT IGNORE INTO aifd_requests (${COLUMNS.join(',')}) VALUES ?`, [rows]);
    },
    async summarize(by: UsageDimension, since: Date) {
      const [rows] = await pool.query(summarySql(by, "DATE_FORMAT(ts, '%Y-%m-%d')", '?'), [since]);
      return toUsageRows(rows as Record<string, unknown>[]);
    },
    async recordsPage(since, until, after, limit) {
      const { sql, params } = pageQuery(
        () => '?',
        (at) => at,
        { since, until, after, limit },
      );
      const [rows] = await pool.query(sql, params);
      return (rows as Record<string, unknown>[]).map(recordOfRow);
    },
    close: () => pool.end(),
  };
}
