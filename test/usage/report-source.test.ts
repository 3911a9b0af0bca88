/**
 * The usage report reads the same figures from either source: one set of records written as an
 * access log and into each SQL sink (the machine's SQLite, PostgreSQL and MariaDB, a database per
 * run), more than a page of them, with times shared by pairs so that paging must break ties.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import mysql from 'mysql2/promise';
import { validate } from '../../src/config/load.js';
import type { AccessRecord } from '../../src/logs/access-record.js';
import { openDialect } from '../../src/logs/sinks/open-dialect.js';
import { buildReport, reportSource } from '../../src/usage/report-source.js';
import type { ReportData } from '../../src/usage/report-data.js';

const RUN = `aifd_report_${randomBytes(4).toString('hex')}`;
const COUNT = 12_002;
const since = new Date('2026-12-01T00:00:00Z');
const until = new Date('2026-12-08T00:00:00Z');

function record(i: number): AccessRecord {
  const failed = i % 13 === 0;
  return {
    ts: new Date(since.getTime() + Math.floor(i / 2) * 40_000).toISOString(),
    id: `r-${String(i).padStart(6, '0')}`,
    user: `user-${i % 7}`,
    ip: '10.0.0.1',
    method: 'POST',
    route: '/',
    path: i % 5 === 0 ? '/v1/embeddings' : '/v1/chat/completions',
    model: i % 5 === 0 ? 'text-embedding-3-small' : i % 2 ? 'gpt-4o-mini' : 'gpt-4o',
    alias: null,
    stream: i % 3 === 0,
    status: failed ? 429 : 200,
    upstream: 'openai',
    key: `key${i % 3}`,
    attempts: 1,
    cache: i % 17 === 0 ? 'hit' : null,
    ttfbMs: failed ? null : 100 + (i % 50),
    overheadMs: 0.3,
    queueMs: 0,
    durationMs: 200 + (i % 400),
    usage: failed
      ? null
      : {
          prompt_tokens: 100 + i,
          completion_tokens: i % 90,
          total_tokens: 100 + i + (i % 90),
          ...(i % 4 === 0 ? { cached_tokens: 50 } : {}),
        },
    usageSource: failed ? null : 'upstream',
    error: failed ? 'rate_limit_exceeded' : null,
  };
}

const records = Array.from({ length: COUNT }, (_, i) => record(i));
let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'aifd-report-source-'));
  const logs = path.join(dir, 'logs');
  await mkdir(logs);
  const byDay = new Map<string, string[]>();
  for (const one of records) {
    const day = one.ts.slice(0, 10);
    byDay.set(day, [...(byDay.get(day) ?? []), JSON.stringify(one)]);
  }
  for (const [day, lines] of byDay) await writeFile(path.join(logs, `access-${day}.log`), `${lines.join('\n')}\n`);
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

function configWith(sink: string) {
  return validate(
    {
      store: 'memory://',
      logs: { dir: path.join(dir, 'logs'), sink },
      upstreams: [{ name: 'openai', baseUrl: 'http://127.0.0.1:9', keys: ['sk-report-source-0000000000000'] }],
      auth: { anonymous: true },
      limits: { budgets: { users: { '*': { daily: 5, monthly: 50 } } } },
    },
    'test config',
  );
}

/** What must agree between the sources: everything but the skipped-line count. */
function comparable(data: ReportData) {
  const { skipped: _skipped, latest, ...rest } = data;
  return { ...rest, latest: [...latest].sort((a, b) => a.ts.localeCompare(b.ts) || a.user.localeCompare(b.user)) };
}

const databases: [string, () => Promise<string>, () => Promise<void>][] = [
  ['sqlite', async () => `sqlite://${dir}/sink.sqlite`, async () => undefined],
  [
    'postgres',
    async () => {
      const admin = new pg.Client({ connectionString: 'postgres://postgres@127.0.0.1:5432/test' });
      await admin.connect();
      await admin.query(`CREATE DATABASE ${RUN}`);
      await admin.end();
      return `postgres://postgres@127.0.0.1:5432/${RUN}`;
    },
    async () => {
      const admin = new pg.Client({ connectionString: 'postgres://postgres@127.0.0.1:5432/test' });
      await admin.connect();
      await admin.query(`DROP DATABASE IF EXISTS ${RUN} WITH (FORCE)`);
      await admin.end();
    },
  ],
  [
    'mariadb',
    async () => {
      const admin = await mysql.createConnection({ uri: 'mysql://root@127.0.0.1:3306/test' });
      await admin.query(`CREATE DATABASE ${RUN}`);
      await admin.end();
      return `mysql://root@127.0.0.1:3306/${RUN}`;
    },
    async () => {
      const admin = await mysql.createConnection({ uri: 'mysql://root@127.0.0.1:3306/test' });
      await admin.query(`DROP DATABASE IF EXISTS ${RUN}`);
      await admin.end();
    },
  ],
];

describe('the usage report from the access log and from the SQL sink', () => {
  for (const [name, create, drop] of databases) {
    it(`agrees, read from ${name} a page at a time`, async () => {
      const url = await create();
      try {
        const dialect = await openDialect(url);
        await dialect.prepare();
        for (let i = 0; i < records.length; i += 1000) await dialect.insert(records.slice(i, i + 1000));
        await dialect.close();
        const config = configWith(url);
        const fromSink = reportSource(config, 'sink');
        expect(fromSink).toEqual({ kind: 'sink', url });
        const sink = await buildReport(config, fromSink as { kind: 'sink'; url: string }, since, until);
        const log = await buildReport(config, { kind: 'log' }, since, until);
        expect(sink.totals.requests).toBe(COUNT);
        expect(log.skipped).toBe(0);
        expect(comparable(sink)).toEqual(comparable(log));
        expect(sink.budgets!.length).toBeGreaterThan(0);
      } finally {
        await drop();
      }
    });
  }

  it('chooses the access log when it is kept, else the sink, and says why when there is neither', () => {
    const config = configWith('postgres://postgres@127.0.0.1:5432/none');
    expect(reportSource(config, 'auto')).toEqual({ kind: 'log' });
    const noAccess = { ...config, logs: { ...config.logs, access: false } };
    expect(reportSource(noAccess, 'auto')).toEqual({ kind: 'sink', url: 'postgres://postgres@127.0.0.1:5432/none' });
    expect(reportSource(noAccess, 'log')).toMatch(/logs\.access is off/);
    const neither = { ...noAccess, logs: { ...noAccess.logs, sink: 'none' as const } };
    expect(reportSource(neither, 'auto')).toMatch(/nothing to read/);
    expect(reportSource(neither, 'sink')).toMatch(/no SQL sink is configured/);
  });
});
