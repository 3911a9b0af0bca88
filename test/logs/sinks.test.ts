/**
 * The SQL sink against the machine's real SQLite, PostgreSQL and MariaDB: each run makes its own
 * database and drops it afterwards. Outages are real: the sink talks through a TCP relay that the
 * test cuts and restores.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import net from 'node:net';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { once } from 'node:events';
import os from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import mysql from 'mysql2/promise';
import sqlite3 from 'sqlite3';
import type { AccessRecord } from '../../src/logs/access-record.js';
import { openDialect } from '../../src/logs/sinks/open-dialect.js';
import { SqlSink } from '../../src/logs/sinks/sql-sink.js';
import { createJsonLinesFile } from '../../src/logs/json-lines-file.js';
import { silentDiagnostics } from '../../src/logs/diagnostics.js';
import type { SqlDialect } from '../../src/logs/sinks/dialect.js';

const RUN = `aifd_${randomBytes(4).toString('hex')}`;

function record(i: number, overrides: Partial<AccessRecord> = {}): AccessRecord {
  return {
    ts: new Date(Date.UTC(2026, 10, 20 + (i % 3), 12, 0, i % 60)).toISOString(),
    id: `req-${RUN}-${i}`,
    user: i % 2 === 0 ? 'ann' : 'bob',
    ip: '127.0.0.1',
    method: 'POST',
    route: '/',
    path: '/v1/chat/completions',
    model: i % 3 === 0 ? 'gpt-4o' : 'gpt-4o-mini',
    alias: null,
    stream: i % 2 === 1,
    status: i % 10 === 9 ? 500 : 200,
    upstream: 'openai',
    key: 'abcdef012345',
    attempts: 1,
    cache: null,
    ttfbMs: 12.5,
    overheadMs: 0.4,
    queueMs: 0,
    durationMs: 40.1,
    usage: { prompt_tokens: 10, completion_tokens: 5, total_tokens: 15, ...(i % 4 === 0 ? { cached_tokens: 2 } : {}) },
    usageSource: 'upstream',
    error: i % 10 === 9 ? 'server_error' : null,
    ...overrides,
  };
}

/** A TCP relay in front of a database, which the test can cut and restore. */
class Relay {
  private server: net.Server | undefined;
  private readonly sockets = new Set<net.Socket>();
  port = 0;
  constructor(private readonly target: number) {}
  async start(port = 0): Promise<void> {
    this.server = net.createServer((client) => {
      const upstream = net.connect(this.target, '127.0.0.1');
      for (const socket of [client, upstream]) {
        this.sockets.add(socket);
        socket.on('close', () => this.sockets.delete(socket));
        socket.on('error', () => socket.destroy());
      }
      client.pipe(upstream).pipe(client);
    });
    this.server.listen(port, '127.0.0.1');
    await once(this.server, 'listening');
    this.port = (this.server.address() as net.AddressInfo).port;
  }
  async cut(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    await new Promise<void>((resolve) => this.server!.close(() => resolve()));
  }
}

interface Backend {
  name: string;
  url(port?: number): string;
  port: number;
  setup(): Promise<void>;
  teardown(): Promise<void>;
  count(): Promise<number>;
}

const postgres: Backend = {
  name: 'postgres',
  port: 5432,
  url: (port = 5432) => `postgres://postgres@127.0.0.1:${port}/${RUN}`,
  async setup() {
    const admin = new pg.Client({ connectionString: 'postgres://postgres@127.0.0.1:5432/test' });
    await admin.connect();
    await admin.query(`CREATE DATABASE ${RUN}`);
    await admin.end();
  },
  async teardown() {
    const admin = new pg.Client({ connectionString: 'postgres://postgres@127.0.0.1:5432/test' });
    await admin.connect();
    await admin.query(`DROP DATABASE IF EXISTS ${RUN} WITH (FORCE)`);
    await admin.end();
  },
  async count() {
    const client = new pg.Client({ connectionString: postgres.url() });
    await client.connect();
    const result = await client.query('SELECT COUNT(*) AS n FROM aifd_requests');
    await client.end();
    return Number(result.rows[0].n);
  },
};

const mariadb: Backend = {
  name: 'mariadb',
  port: 3306,
  url: (port = 3306) => `mysql://root@127.0.0.1:${port}/${RUN}`,
  async setup() {
    const admin = await mysql.createConnection({ uri: 'mysql://root@127.0.0.1:3306/test' });
    await admin.query(`CREATE DATABASE ${RUN}`);
    await admin.end();
  },
  async teardown() {
    const admin = await mysql.createConnection({ uri: 'mysql://root@127.0.0.1:3306/test' });
    await admin.query(`DROP DATABASE IF EXISTS ${RUN}`);
    await admin.end();
  },
  async count() {
    const connection = await mysql.createConnection({ uri: mariadb.url() });
    const [rows] = await connection.query('SELECT COUNT(*) AS n FROM aifd_requests');
    await connection.end();
    return Number((rows as { n: number }[])[0]!.n);
  },
};

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'aifd-sinks-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

function sinkFor(dialect: SqlDialect, name: string, maxBacklog = 10_000) {
  const fallback = createJsonLinesFile({ dir, filename: `fallback-${name}-%DATE%.log`, log: silentDiagnostics });
  return {
    sink: new SqlSink(dialect, { batchSize: 50, flushEveryMs: 20, maxBacklog, fallback, log: silentDiagnostics }),
    fallback,
  };
}

async function fallbackLines(name: string): Promise<string[]> {
  const files = (await readdir(dir)).filter((file) => file.startsWith(`fallback-${name}-`) && file.endsWith('.log'));
  const lines: string[] = [];
  for (const file of files) lines.push(...(await readFile(path.join(dir, file), 'utf8')).split('\n').filter(Boolean));
  return lines;
}

/** One row as a database keeps it, without `ts` (each keeps time its own way), comparable across databases. */
async function storedRow(name: string, id: string): Promise<Record<string, unknown>> {
  let row: Record<string, unknown>;
  if (name === 'sqlite') {
    const db = new sqlite3.Database(`${dir}/sink.sqlite`);
    row = await new Promise((resolve, reject) =>
      db.get('SELECT * FROM aifd_requests WHERE id = ?', [id], (err, found) =>
        err ? reject(err) : resolve(found as Record<string, unknown>),
      ),
    );
    await new Promise((resolve) => db.close(resolve));
  } else if (name === 'postgres') {
    const client = new pg.Client({ connectionString: postgres.url() });
    await client.connect();
    row = (await client.query('SELECT * FROM aifd_requests WHERE id = $1', [id])).rows[0];
    await client.end();
  } else {
    const connection = await mysql.createConnection({ uri: mariadb.url() });
    row = (
      (await connection.query('SELECT * FROM aifd_requests WHERE id = ?', [id]))[0] as Record<string, unknown>[]
    )[0]!;
    await connection.end();
  }
  const { ts: _ts, stream, ...rest } = row;
  return { ...rest, stream: stream === null ? null : Boolean(Number(stream)) };
}

/** The table as versions before the audio, image and reasoning columns made it, with one row in it. */
const OLD_TABLE: Record<string, string> = {
  sqlite: `CREATE TABLE aifd_requests (id TEXT PRIMARY KEY, ts TEXT NOT NULL, user_name TEXT, ip TEXT, method TEXT, route TEXT, path TEXT, model TEXT,
    stream INTEGER, status INTEGER, upstream TEXT, key_hash TEXT, attempts INTEGER, cache TEXT, ttfb_ms REAL, duration_ms REAL, prompt_tokens INTEGER,
    completion_tokens INTEGER, total_tokens INTEGER, cached_tokens INTEGER, usage_source TEXT, error TEXT)`,
  postgres: `CREATE TABLE aifd_requests (id TEXT PRIMARY KEY, ts TIMESTAMPTZ NOT NULL, user_name TEXT, ip TEXT, method TEXT, route TEXT, path TEXT, model TEXT,
    stream BOOLEAN, status INTEGER, upstream TEXT, key_hash TEXT, attempts INTEGER, cache TEXT, ttfb_ms DOUBLE PRECISION, duration_ms DOUBLE PRECISION,
    prompt_tokens INTEGER, completion_tokens INTEGER, total_tokens INTEGER, cached_tokens INTEGER, usage_source TEXT, error TEXT)`,
  mariadb: `CREATE TABLE aifd_requests (id VARCHAR(64) PRIMARY KEY, ts DATETIME(3) NOT NULL, user_name VARCHAR(255), ip VARCHAR(64), method VARCHAR(16),
    route VARCHAR(255), path TEXT, model VARCHAR(255), stream BOOLEAN, status INT, upstream VARCHAR(255), key_hash VARCHAR(32), attempts INT,
    cache VARCHAR(16), ttfb_ms DOUBLE, duration_ms DOUBLE, prompt_tokens INT, completion_tokens INT, total_tokens INT, cached_tokens INT,
    usage_source VARCHAR(16), error VARCHAR(255), INDEX aifd_requests_ts (ts))`,
};
const OLD_ROW = `INSERT INTO aifd_requests (id, ts, user_name, model, prompt_tokens, completion_tokens, total_tokens) VALUES ('old-${RUN}', '2026-11-01 10:00:00', 'olga', 'gpt-4o', 7, 3, 10)`;

async function createOldTable(name: string): Promise<void> {
  if (name === 'sqlite') {
    const db = new sqlite3.Database(`${dir}/sink.sqlite`);
    for (const sql of [OLD_TABLE.sqlite!, OLD_ROW])
      await new Promise<void>((resolve, reject) => db.run(sql, (err) => (err ? reject(err) : resolve())));
    await new Promise((resolve) => db.close(resolve));
  } else if (name === 'postgres') {
    const client = new pg.Client({ connectionString: postgres.url() });
    await client.connect();
    await client.query(OLD_TABLE.postgres!);
    await client.query(OLD_ROW);
    await client.end();
  } else {
    const connection = await mysql.createConnection({ uri: mariadb.url() });
    await connection.query(OLD_TABLE.mariadb!);
    await connection.query(OLD_ROW);
    await connection.end();
  }
}

describe('every SQL sink receives the same rows', () => {
  const summaries: Record<string, unknown> = {};
  const backends: [string, () => Promise<SqlDialect>, (() => Promise<void>) | undefined][] = [
    ['sqlite', async () => openDialect(`sqlite://${dir}/sink.sqlite`), undefined],
    ['postgres', async () => (await postgres.setup(), openDialect(postgres.url())), () => postgres.teardown()],
    ['mariadb', async () => (await mariadb.setup(), openDialect(mariadb.url())), () => mariadb.teardown()],
  ];
  for (const [name, open, cleanup] of backends) {
    it(name, async () => {
      const dialect = await open();
      try {
        // An older table: prepare adds the new columns, and its row stays.
        await createOldTable(name);
        await dialect.prepare();
        await dialect.prepare();
        const { sink, fallback } = sinkFor(dialect, name);
        for (let i = 0; i < 120; i++) sink.add(record(i));
        sink.add(
          record(120, {
            model: 'gpt-4o-audio-preview',
            usage: {
              prompt_tokens: 400,
              completion_tokens: 300,
              total_tokens: 700,
              audio_prompt_tokens: 350,
              audio_completion_tokens: 200,
              reasoning_tokens: 40,
              image_prompt_tokens: 5,
            },
          }),
        );
        sink.add(
          record(121, {
            model: 'claude-sonnet-4-5',
            usage: {
              prompt_tokens: 1000,
              completion_tokens: 20,
              total_tokens: 1020,
              cached_tokens: 600,
              cache_write_tokens: 300,
              cache_write_1h_tokens: 100,
            },
          }),
        );
        sink.add(record(0)); // a duplicate id is written once
        await sink.flush();
        expect(sink.written).toBe(123);
        const byUser = await dialect.summarize('user', new Date(Date.UTC(2026, 0, 1)));
        const byDay = await dialect.summarize('day', new Date(Date.UTC(2026, 10, 21)));
        summaries[name] = { byUser, byDay };
        expect(byUser.reduce((sum, row) => sum + row.requests, 0)).toBe(123);
        // Anthropic's cache writes have columns of their own, so aifd usage prices them at their rates.
        expect(byUser.find((row) => row.model === 'claude-sonnet-4-5')).toMatchObject({
          promptTokens: 1000,
          cachedTokens: 600,
          cacheWriteTokens: 300,
          cacheWrite1hTokens: 100,
        });
        expect(byUser.find((row) => row.group === 'olga')).toMatchObject({
          requests: 1,
          promptTokens: 7,
          audioPromptTokens: 0,
        });
        expect(byUser.find((row) => row.model === 'gpt-4o-audio-preview')).toMatchObject({
          promptTokens: 400,
          audioPromptTokens: 350,
          audioCompletionTokens: 200,
          reasoningTokens: 40,
          imagePromptTokens: 5,
        });
        expect(byUser.find((row) => row.group === 'ann' && row.model === 'gpt-4o')).toMatchObject({
          requests: 20,
          promptTokens: 200,
          completionTokens: 100,
        });
        expect(byDay.map((row) => row.group)).toEqual(expect.arrayContaining(['2026-11-21', '2026-11-22']));
        expect(byDay.some((row) => row.group === '2026-11-20')).toBe(false);
        // every column holds its field, nulls and booleans included
        expect(await storedRow(name, `req-${RUN}-9`)).toEqual({
          id: `req-${RUN}-9`,
          user_name: 'bob',
          ip: '127.0.0.1',
          method: 'POST',
          route: '/',
          path: '/v1/chat/completions',
          model: 'gpt-4o',
          stream: true,
          status: 500,
          upstream: 'openai',
          key_hash: 'abcdef012345',
          attempts: 1,
          cache: null,
          ttfb_ms: 12.5,
          duration_ms: 40.1,
          prompt_tokens: 10,
          completion_tokens: 5,
          total_tokens: 15,
          cached_tokens: null,
          usage_source: 'upstream',
          error: 'server_error',
          audio_prompt_tokens: null,
          audio_completion_tokens: null,
          image_prompt_tokens: null,
          reasoning_tokens: null,
          cache_write_tokens: null,
          cache_write_1h_tokens: null,
        });
        expect(await storedRow(name, `old-${RUN}`)).toMatchObject({
          user_name: 'olga',
          prompt_tokens: 7,
          audio_prompt_tokens: null,
        });
        expect(await storedRow(name, `req-${RUN}-4`)).toMatchObject({
          user_name: 'ann',
          model: 'gpt-4o-mini',
          stream: false,
          status: 200,
          cached_tokens: 2,
          error: null,
        });
        await sink.close();
        await fallback.close();
        expect(await fallbackLines(name)).toHaveLength(0);
      } finally {
        await cleanup?.();
      }
    });
  }
  it('all three agree', () => {
    expect(summaries.postgres).toEqual(summaries.sqlite);
    expect(summaries.mariadb).toEqual(summaries.sqlite);
  });
});

describe('a database that goes away loses no record', () => {
  for (const backend of [postgres, mariadb]) {
    it(backend.name, async () => {
      await backend.setup();
      const relay = new Relay(backend.port);
      await relay.start();
      try {
        const dialect = await openDialect(backend.url(relay.port));
        const { sink, fallback } = sinkFor(dialect, `outage-${backend.name}`, 100);
        for (let i = 0; i < 30; i++) sink.add(record(i));
        await sink.flush();
        expect(sink.written).toBe(30);
        await relay.cut();
        for (let i = 30; i < 180; i++) sink.add(record(i));
        await sink.flush();
        expect(sink.backlog).toBe(100);
        expect(sink.spilled).toBe(50);
        await relay.start(relay.port);
        await sink.flush();
        expect(sink.backlog).toBe(0);
        await sink.close();
        await fallback.close();
        const inDatabase = await backend.count();
        const spilled = await fallbackLines(`outage-${backend.name}`);
        expect(inDatabase + spilled.length).toBe(180);
        expect(inDatabase).toBe(130);
      } finally {
        await relay.cut().catch(() => undefined);
        await backend.teardown();
      }
    });
  }
});
