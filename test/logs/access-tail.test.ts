import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { appendFile, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import {
  accessLogEnd,
  accessLogFiles,
  accessMatcher,
  followAccessLog,
  type TailedRecord,
} from '../../src/logs/access-tail.js';
import type { AccessRecord } from '../../src/logs/access-record.js';

const record = (over: Partial<AccessRecord>): AccessRecord =>
  ({
    ts: '2026-12-07T10:00:00.000Z',
    id: 'r',
    user: 'ann',
    model: 'gpt-4o-mini',
    alias: null,
    status: 200,
    ...over,
  }) as AccessRecord;

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'aifd-access-tail-'));
});
afterEach(() => rm(dir, { recursive: true, force: true }));

describe('reading the access log back', () => {
  it('matches by user, model glob or alias, status or class, and time', () => {
    expect(accessMatcher({ user: 'ann' })(record({}))).toBe(true);
    expect(accessMatcher({ user: 'bob' })(record({}))).toBe(false);
    expect(accessMatcher({ model: 'gpt-4o*' })(record({}))).toBe(true);
    expect(accessMatcher({ model: 'fast' })(record({ alias: 'fast' }))).toBe(true);
    expect(accessMatcher({ model: 'o3*' })(record({}))).toBe(false);
    expect(accessMatcher({ status: '4xx' })(record({ status: 429 }))).toBe(true);
    expect(accessMatcher({ status: '4xx' })(record({ status: 502 }))).toBe(false);
    expect(accessMatcher({ status: '429' })(record({ status: 429 }))).toBe(true);
    expect(accessMatcher({ since: new Date('2026-12-07T11:00:00Z') })(record({}))).toBe(false);
  });

  it('orders the files by day, then by the size rotation', async () => {
    for (const name of [
      'access-2026-12-07.log',
      'access-2026-12-06.log.gz',
      'access-2026-12-07.1.log',
      'chat-2026-12-07.log',
    ])
      await writeFile(path.join(dir, name), '');
    expect((await accessLogFiles(dir)).map((file) => path.basename(file))).toEqual([
      'access-2026-12-06.log.gz',
      'access-2026-12-07.log',
      'access-2026-12-07.1.log',
    ]);
  });

  it('follows the newest file across the day rotation, a half-written line once it is whole', async () => {
    const today = path.join(dir, 'access-2026-12-06.log');
    await writeFile(today, `${JSON.stringify(record({ id: 'old' }))}\n`);
    const seen: string[] = [];
    const skipped: number[] = [];
    const stop = new AbortController();
    // Where the log ends before anything is appended: the follower starts there, whenever it runs.
    const from = await accessLogEnd(dir);
    let wake: () => void = () => undefined;
    const following = followAccessLog(
      dir,
      {},
      (tailed: TailedRecord) => {
        seen.push(tailed.record.id);
        wake();
      },
      stop.signal,
      from,
      () => skipped.push(1),
    );
    const next = () => new Promise<void>((resolve) => (wake = resolve));
    let arrived = next();
    const line = JSON.stringify(record({ id: 'a' }));
    await appendFile(today, line.slice(0, 20));
    await appendFile(today, `${line.slice(20)}\nnot a record\n`);
    await arrived;
    arrived = next();
    await writeFile(path.join(dir, 'access-2026-12-07.log'), `${JSON.stringify(record({ id: 'b' }))}\n`);
    await arrived;
    stop.abort();
    await following;
    expect(seen).toEqual(['a', 'b']);
    expect(skipped).toHaveLength(1);
  });
});
