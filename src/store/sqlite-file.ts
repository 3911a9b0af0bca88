/**
 * A SQLite file as aifd's own tables use it (the SQL sink, saved limit counters), with promises.
 * Several connections may share one file (the store's adapter too): a writer that finds it locked
 * waits up to the busy timeout instead of failing at once.
 */
import sqlite3 from 'sqlite3';
import { mkdir } from 'node:fs/promises';
import path from 'node:path';

const BUSY_TIMEOUT_MS = 5000;

export interface SqliteFile {
  run(sql: string, params?: unknown[]): Promise<void>;
  all<Row = Record<string, unknown>>(sql: string, params?: unknown[]): Promise<Row[]>;
  /** Closes the connection; resolves even if closing fails (there is nothing left to do then). */
  close(): Promise<void>;
}

export async function openSqliteFile(file: string): Promise<SqliteFile> {
  await mkdir(path.dirname(file), { recursive: true });
  const db = await new Promise<sqlite3.Database>((resolve, reject) => {
    const opened = new sqlite3.Database(file, (err) => (err ? reject(err) : resolve(opened)));
  });
  db.configure('busyTimeout', BUSY_TIMEOUT_MS);
  return {
    run: (sql, params = []) =>
      new Promise((resolve, reject) => db.run(sql, params, (err) => (err ? reject(err) : resolve()))),
    all: <Row>(sql: string, params: unknown[] = []) =>
      new Promise<Row[]>((resolve, reject) =>
        db.all(sql, params, (err, rows) => (err ? reject(err) : resolve(rows as Row[]))),
      ),
    close: () => new Promise((resolve) => db.close(() => resolve())),
  };
}
