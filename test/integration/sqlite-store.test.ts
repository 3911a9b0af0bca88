/**
 * The default deployment keeps everything in one SQLite file: key state, cache, the limits'
 * counters and the request records (the SQL sink). Under load none of them may lock the others out.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import sqlite3 from 'sqlite3';
import type { Diagnostics } from '../../src/logs/diagnostics.js';
import { openStore } from '../../src/store/open-store.js';
import { startHub } from '../helpers/hub.js';
import { useMockUpstream } from '../helpers/mock.js';

const FORWARD_KEY = 'fk-sqlite-store-user-000000';

describe('one SQLite file for store, counters and records', () => {
  const mock = useMockUpstream();
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'aifd-sqlite-store-'));
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  it('takes load without the files locking each other, records every request and stops at once', async () => {
    const file = path.join(dir, 'state.sqlite');
    const warnings: string[] = [];
    const log: Diagnostics = {
      error: (message) => void warnings.push(message),
      warn: (message) => void warnings.push(message),
      info: () => undefined,
      debug: () => undefined,
      close: async () => undefined,
    };
    const running = await startHub(
      {
        store: `sqlite://${file}`,
        upstreams: [{ name: 'openai', baseUrl: mock.url, keys: ['sk-sqlite-store-pool-key-000000'] }],
        auth: { forwardKeys: [{ key: FORWARD_KEY, user: 'ann', roles: [] }] },
        limits: { user: { requests: '1000000/minute', tokens: '100000000/day' } },
      },
      { store: await openStore(`sqlite://${file}`), log },
    );
    // Long enough for the counters and the sink to save several times while requests go on.
    const until = Date.now() + 2500;
    let sent = 0;
    const client = async () => {
      while (Date.now() < until) {
        const response = await fetch(`${running.url}/v1/chat/completions`, {
          method: 'POST',
          headers: { authorization: `Bearer ${FORWARD_KEY}`, 'content-type': 'application/json' },
          body: JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }] }),
        });
        expect(response.status).toBe(200);
        await response.arrayBuffer();
        sent++;
      }
    };
    await Promise.all(Array.from({ length: 20 }, client));
    const closing = Date.now();
    await running.close();
    // Shutdown waited on a locked file before (40 s after a minute of load).
    expect(Date.now() - closing).toBeLessThan(5000);
    expect(warnings).toEqual([]);
    const db = await new Promise<sqlite3.Database>((resolve, reject) => {
      const opened = new sqlite3.Database(file, (err) => (err ? reject(err) : resolve(opened)));
    });
    const recorded = await new Promise<number>((resolve, reject) =>
      db.get('SELECT count(*) AS n FROM aifd_requests', (err, row: { n: number }) =>
        err ? reject(err) : resolve(row.n),
      ),
    );
    await new Promise<void>((resolve) => db.close(() => resolve()));
    expect(recorded).toBe(sent);
  }, 30_000);
});
