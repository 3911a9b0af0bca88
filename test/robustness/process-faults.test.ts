/**
 * Process faults on a real `aifd run`: SIGTERM under load loses no access record of an accepted
 * request; kill -9 under load leaves the SQLite store consistent and the daemon serving again.
 */
import { afterEach, describe, expect, it } from 'vitest';
import http from 'node:http';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import sqlite3 from 'sqlite3';
import { useMockUpstream } from '../helpers/mock.js';
import { startDaemon, type RunningDaemon } from '../helpers/cli.js';
import { readJsonLines } from '../helpers/logs.js';
import type { AccessRecord } from '../../src/logs/access-record.js';

const USER = 'fk-process-fault-user-0000000';

const mock = useMockUpstream();
let dir: string;
const daemons: RunningDaemon[] = [];

afterEach(async () => {
  await Promise.all(daemons.splice(0).map((daemon) => daemon.stop('SIGKILL')));
  await rm(dir, { recursive: true, force: true });
});

async function start(): Promise<RunningDaemon> {
  dir = await mkdtemp(path.join(os.tmpdir(), 'aifd-process-'));
  await writeFile(
    path.join(dir, 'hub.config.json'),
    JSON.stringify({
      store: 'sqlite://./state.sqlite',
      upstreams: [{ name: 'openai', baseUrl: mock.url, keys: ['sk-process-fault-pool-key-000000000'] }],
      auth: { forwardKeys: [{ key: USER, user: 'ann', roles: [] }] },
      limits: { user: { requests: '100000/hour', tokens: '100000000/hour' } },
      cache: { chatCompletions: true },
      logs: { dir: './logs', chat: true },
      admin: { enabled: false },
    }),
  );
  const daemon = await startDaemon(['--config', 'hub.config.json', '--port', '0'], { cwd: dir });
  daemons.push(daemon);
  return daemon;
}

interface Result {
  status?: number;
  requestId?: string;
  error?: string;
}

/** A streamed chat completion over raw HTTP, read to its end (or to the connection's end). */
function streamRequest(url: string, n: number): Promise<Result> {
  return new Promise((resolve) => {
    const body = JSON.stringify({
      model: 'gpt-4o-mini',
      stream: true,
      messages: [{ role: 'user', content: `request ${n}` }],
    });
    const req = http.request(
      `${url}/v1/chat/completions`,
      {
        method: 'POST',
        headers: {
          authorization: `Bearer ${USER}`,
          'content-type': 'application/json',
          'x-mock-delay-ms': '20',
          'x-mock-chunks': '10',
        },
      },
      (res) => {
        res.resume();
        const done = () => resolve({ status: res.statusCode, requestId: String(res.headers['x-aifd-request-id']) });
        res.on('end', done);
        res.on('error', done);
      },
    );
    req.on('error', (err: NodeJS.ErrnoException) => resolve({ error: err.code ?? err.message }));
    req.end(body);
  });
}

function integrityCheck(file: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const db = new sqlite3.Database(file, sqlite3.OPEN_READONLY, (err) => {
      if (err) return reject(err);
      db.get('PRAGMA integrity_check', (error, row: { integrity_check: string }) => {
        db.close();
        if (error) reject(error);
        else resolve(row.integrity_check);
      });
    });
  });
}

describe('process faults', () => {
  it('SIGTERM under load: every request aifd answered has its access record, and in-flight streams finish', async () => {
    const daemon = await start();
    let exited: Promise<number | null> | undefined;
    mock.on('request', () => {
      if (mock.received.length === 20) exited = daemon.stop('SIGTERM');
    });
    const results = await Promise.all(Array.from({ length: 60 }, (_, n) => streamRequest(daemon.url, n)));
    expect(await exited).toBe(0);
    const answered = results.filter((result) => result.status !== undefined);
    expect(answered.length).toBeGreaterThanOrEqual(20);
    const records = await readJsonLines<AccessRecord>(path.join(dir, 'logs'), 'access-');
    const logged = new Set(records.map((record) => record.id));
    for (const result of answered) expect(logged.has(result.requestId!), `record of ${result.requestId}`).toBe(true);
    // Streams that were running when SIGTERM came were finished, not cut.
    expect(records.filter((record) => record.status === 200 && record.error === null).length).toBeGreaterThanOrEqual(
      20,
    );
  });

  it('kill -9 under load: the SQLite store stays consistent and the restarted daemon serves', async () => {
    const first = await start();
    let killed: Promise<number | null> | undefined;
    mock.on('request', () => {
      if (mock.received.length === 30) killed = first.stop('SIGKILL');
    });
    await Promise.all(Array.from({ length: 60 }, (_, n) => streamRequest(first.url, n % 10)));
    await killed;
    expect(await integrityCheck(path.join(dir, 'state.sqlite'))).toBe('ok');
    mock.removeAllListeners('request');
    const second = await startDaemon(['--config', 'hub.config.json', '--port', '0'], { cwd: dir });
    daemons.push(second);
    const results = await Promise.all(Array.from({ length: 10 }, (_, n) => streamRequest(second.url, n)));
    expect(results.map((result) => result.status)).toEqual(Array(10).fill(200));
    expect(await second.stop('SIGTERM')).toBe(0);
    expect(await integrityCheck(path.join(dir, 'state.sqlite'))).toBe('ok');
  });
});
