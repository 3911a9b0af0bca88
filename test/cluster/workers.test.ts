/**
 * `aifd run --workers 2` as real processes: a primary and two workers on one port, with the
 * guarantees of one process kept (limits, one access log, key status, cache coalescing, one admin
 * listener), signals handled once, a dead worker replaced, and the bad inputs refused.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import OpenAI from 'openai';
import { randomBytes } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { useMockUpstream } from '../helpers/mock.js';
import { deleteRedisKeys } from '../helpers/redis-server.js';
import { eventually } from '../helpers/eventually.js';
import { runCli, startDaemon, type RunningDaemon } from '../helpers/cli.js';
import { request } from '../helpers/http.js';
import { readJsonLines } from '../helpers/logs.js';
import type { AccessRecord } from '../../src/logs/access-record.js';

const GOOD_KEY = 'sk-workers-good-key-0000000000000';
const BAD_KEY = 'sk-workers-bad-key-00000000000000';
const ANN = 'fk-workers-ann-000000000000000';
const BOB = 'fk-workers-bob-000000000000000';
const ADMIN_TOKEN = 'admin-token-workers-test';
const PREFIX = `aifd-test-${randomBytes(4).toString('hex')}:`;

const mock = useMockUpstream();
let dir: string;
const daemons: RunningDaemon[] = [];

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'aifd-workers-'));
});
afterEach(async () => {
  await Promise.all(daemons.splice(0).map((daemon) => daemon.stop('SIGTERM')));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
  await deleteRedisKeys(PREFIX);
});

interface WorkerView {
  id: number;
  pid: number;
  inFlight: number;
  keysOut: number;
}

interface StateView {
  pid: number;
  inFlight: number;
  workers: WorkerView[];
  keys: { hash: string; key: string; status: string; requests: number }[];
  totals: { users: { user: string; requests: number }[] };
}

/** A config in its own folder (store, logs and daemon.json there), two workers unless told. */
async function daemonWith(name: string, extra: Record<string, unknown> = {}, args: string[] = []) {
  const home = path.join(dir, name);
  const file = path.join(dir, `${name}.json`);
  const content = {
    store: `sqlite://${home}/state.sqlite`,
    logs: { dir: path.join(home, 'logs') },
    upstreams: [{ name: 'openai', baseUrl: mock.url, keys: [GOOD_KEY] }],
    auth: {
      forwardKeys: [
        { key: ANN, user: 'ann', roles: [] },
        { key: BOB, user: 'bob', roles: [] },
      ],
    },
    admin: { port: 0, token: ADMIN_TOKEN },
    ...extra,
  };
  await writeFile(file, JSON.stringify(content));
  const daemon = await startDaemon(['--config', file, '--port', '0', '--workers', '2', ...args], { cwd: dir });
  daemons.push(daemon);
  // daemon.json lies beside a SQLite store, else in the logs folder.
  const runtimeDir = content.store.startsWith('sqlite://') ? home : content.logs.dir;
  const runtime = JSON.parse(await readFile(path.join(runtimeDir, 'daemon.json'), 'utf8')) as { adminUrl: string };
  return { daemon, file, home, content, admin: runtime.adminUrl };
}

const client = (daemon: RunningDaemon, key = ANN) =>
  new OpenAI({ apiKey: key, baseURL: `${daemon.url}/v1`, maxRetries: 0 });

const ask = { model: 'gpt-4o-mini', messages: [{ role: 'user' as const, content: 'hi' }] };

async function adminGet(admin: string, route: string): Promise<string> {
  const answer = await request(`${admin}${route}`, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } });
  expect(answer.status).toBe(200);
  return answer.body.toString();
}

/** The first snapshot of `GET /events` (what aifd top draws). */
function firstEvent(admin: string): Promise<StateView> {
  return new Promise((resolve, reject) => {
    const req = http.get(`${admin}/events`, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } }, (res) => {
      let text = '';
      res.on('data', (chunk: Buffer) => {
        text += chunk.toString();
        const end = text.indexOf('\n\n');
        if (end < 0) return;
        req.destroy();
        resolve(JSON.parse(text.slice('data: '.length, end)) as StateView);
      });
    });
    req.on('error', reject);
  });
}

const state = async (admin: string) => JSON.parse(await adminGet(admin, '/state')) as StateView;

const gone = (pid: number) => {
  try {
    process.kill(pid, 0);
    return false;
  } catch {
    return true;
  }
};

const accessLog = (home: string) => readJsonLines<AccessRecord>(path.join(home, 'logs'), 'access-');

describe('aifd run --workers 2', () => {
  it('holds a limit exactly across workers, writes one access log, and answers for all at the admin listener', async () => {
    const { daemon, home, admin, file } = await daemonWith('limits', {
      limits: { strategy: 'fixed-window', global: '20/hour' },
    });
    const before = await state(admin);
    expect(before.workers).toHaveLength(2);
    expect(new Set(before.workers.map((worker) => worker.pid)).size).toBe(2);
    expect(before.workers.map((worker) => worker.pid)).not.toContain(before.pid);

    const results = await Promise.allSettled(
      Array.from({ length: 40 }, (_, i) => client(daemon, i % 2 ? ANN : BOB).chat.completions.create(ask)),
    );
    const served = results.filter((result) => result.status === 'fulfilled');
    const refused = results.filter(
      (result) => result.status === 'rejected' && result.reason instanceof OpenAI.RateLimitError,
    );
    expect(served).toHaveLength(20);
    expect(refused).toHaveLength(20);
    expect(mock.received).toHaveLength(20);

    // A request's record is written after its answer (once its limit is settled in the primary):
    // the totals are read once all 40 records have reached the primary.
    const after = await eventually(
      async () => {
        const view = await state(admin);
        return view.totals.users.reduce((sum, user) => sum + user.requests, 0) >= 40 ? view : undefined;
      },
      5000,
      20,
    );
    expect(after.keys).toHaveLength(1);
    expect(after.keys[0]!.requests).toBe(20);
    expect(after.keys[0]!.key).not.toContain(GOOD_KEY);
    const users = Object.fromEntries(after.totals.users.map((user) => [user.user, user.requests]));
    expect(users).toEqual({ ann: 20, bob: 20 });
    const metrics = await adminGet(admin, '/metrics');
    const counted = [...metrics.matchAll(/^aifd_requests_total\{[^}]*status="(\d+)"[^}]*\} (\d+)$/gm)];
    const byStatus: Record<string, number> = {};
    for (const [, status, value] of counted) byStatus[status!] = (byStatus[status!] ?? 0) + Number(value);
    expect(byStatus).toEqual({ 200: 20, 429: 20 });
    expect(metrics).toContain('aifd_key_status{upstream="openai"');
    expect(metrics).not.toContain(GOOD_KEY);
    // aifd top's stream and keys list read the same merged state.
    const event = await firstEvent(admin);
    expect(event.workers).toHaveLength(2);
    expect(event.keys[0]!.requests).toBe(20);
    const listed = await runCli(['keys', 'list', '--json', '--config', file], { cwd: dir });
    expect(listed.code).toBe(0);
    expect(listed.stdout).toContain('"requests": 20');
    expect(listed.stdout).not.toContain(GOOD_KEY);

    expect(await daemon.stop('SIGTERM')).toBe(0);
    const records = await accessLog(home);
    expect(records).toHaveLength(40);
    expect(new Set(records.map((record) => record.id)).size).toBe(40);
    expect(records.filter((record) => record.status === 429)).toHaveLength(20);
    for (const worker of after.workers) expect(gone(worker.pid)).toBe(true);
  });

  it('never overdraws a budget across workers: the reservations open at once fit in it', async () => {
    // A daily budget that a few requests' reservations fill; every request is held upstream for a
    // while, so the burst's reservations are all open at once and cannot add up past the budget.
    const { daemon, admin } = await daemonWith('budget', {
      limits: { budgets: { users: { '*': { daily: 0.0002 } } } },
    });
    mock.script('*', ...Array.from({ length: 30 }, () => ({ type: 'stream' as const, chunks: 10, delayMs: 150 })));
    let refused = 0;
    const burst = Array.from({ length: 30 }, async () => {
      const stream = await client(daemon)
        .chat.completions.create({ ...ask, max_tokens: 100, stream: true })
        .catch((err: { code?: string }) => {
          if (err.code === 'budget_exceeded') refused++;
          throw err;
        });
      for await (const _ of stream) void _;
    });
    const settled = Promise.allSettled(burst);
    // Every request is either refused or held upstream now: what they reserved is all taken.
    await eventually(async () => (refused + mock.received.length === 30 ? true : undefined));
    const held = (await state(admin)).totals.users;
    const results = await settled;
    const served = results.filter((result) => result.status === 'fulfilled').length;
    expect(served).toBeGreaterThan(0);
    // Each reservation is at least 100 output tokens at gpt-4o-mini's $0.60 per million, $0.00006:
    // three fit in $0.0002 (budgets counted per worker would let each of the two admit three).
    expect(served).toBeLessThanOrEqual(3);
    expect(served).toBe(mock.received.length);
    expect(refused).toBe(30 - served);
    const nearest = (held as { nearest?: { share: number } | null }[])[0]?.nearest;
    // Refusals under contention are conservative (each add that finds the budget full is taken back),
    // so what is held may be well under the budget; over it, never.
    expect(nearest?.share).toBeGreaterThan(0);
    expect(nearest?.share).toBeLessThanOrEqual(1);
  });

  it('tells every worker of a key one of them found revoked, through the primary', async () => {
    mock.always(BAD_KEY, { type: 'error', error: 'invalid_api_key' });
    const { daemon, admin } = await daemonWith('status', {
      upstreams: [{ name: 'openai', baseUrl: mock.url, keys: [BAD_KEY, GOOD_KEY], retries: 1 }],
    });
    const sdk = client(daemon);
    await eventually(async () => {
      await sdk.chat.completions.create(ask);
      return mock.received.some((seen) => seen.key === BAD_KEY) || undefined;
    });
    const learnedAt = performance.now();
    // Both workers stop sending to the key without trying it themselves: one learned, the other was told.
    await eventually(async () =>
      (await state(admin)).workers.every((worker) => worker.keysOut === 1) ? true : undefined,
    );
    const tookMs = performance.now() - learnedAt;
    expect(tookMs).toBeLessThan(1500);
    const badTries = mock.received.filter((seen) => seen.key === BAD_KEY).length;
    await Promise.all(Array.from({ length: 20 }, () => sdk.chat.completions.create(ask)));
    expect(mock.received.filter((seen) => seen.key === BAD_KEY)).toHaveLength(badTries);
    expect(badTries).toBe(1);
  });

  it('sends identical cached requests upstream once, whichever worker takes them', async () => {
    const { daemon } = await daemonWith('cache', { cache: { chatCompletions: true } });
    mock.script('*', { type: 'stream', chunks: 5, delayMs: 40 });
    const answers = await Promise.all(
      Array.from({ length: 10 }, () => client(daemon).chat.completions.create(ask).withResponse()),
    );
    expect(mock.received).toHaveLength(1);
    const verdicts = answers.map((answer) => answer.response.headers.get('x-aifd-cache'));
    expect(verdicts.filter((verdict) => verdict === 'miss')).toHaveLength(1);
    expect(new Set(answers.map((answer) => answer.data.choices[0]!.message.content)).size).toBe(1);
  });

  it('reloads every worker on one SIGHUP to the primary', async () => {
    const { daemon, file, content } = await daemonWith('reload');
    await expect(client(daemon, BOB).chat.completions.create(ask)).resolves.toBeDefined();
    await writeFile(
      file,
      JSON.stringify({ ...content, auth: { forwardKeys: [{ key: ANN, user: 'ann', roles: [] }] } }),
    );
    const from = daemon.stderr().length;
    daemon.child.kill('SIGHUP');
    await daemon.waitForStderr(/config reloaded[^\n]*"worker":\d+[\s\S]*config reloaded[^\n]*"worker":\d+/, from);
    const results = await Promise.allSettled(
      Array.from({ length: 10 }, () => client(daemon, BOB).chat.completions.create(ask)),
    );
    expect(
      results.every((result) => result.status === 'rejected' && result.reason instanceof OpenAI.AuthenticationError),
    ).toBe(true);
    await expect(client(daemon, ANN).chat.completions.create(ask)).resolves.toBeDefined();
  });

  it('replaces a worker that dies, while the other one goes on serving', async () => {
    const { daemon, admin } = await daemonWith('crash');
    const [first, second] = (await state(admin)).workers;
    mock.script('*', ...Array.from({ length: 6 }, () => ({ type: 'stream' as const, chunks: 10, delayMs: 30 })));
    const streams = Array.from({ length: 6 }, async () => {
      const stream = await client(daemon).chat.completions.create({ ...ask, stream: true });
      let text = '';
      for await (const chunk of stream) text += chunk.choices[0]?.delta.content ?? '';
      return text;
    });
    await eventually(async () => (mock.received.length === 6 ? true : undefined));
    process.kill(first!.pid, 'SIGKILL');
    const outcomes = await Promise.allSettled(streams);
    const finished = outcomes.filter((outcome) => outcome.status === 'fulfilled');
    expect(finished.length).toBeGreaterThanOrEqual(1);
    expect(finished.length).toBeLessThan(6);
    await daemon.waitForStderr(/a worker exited; starting another/);
    // Requests made while the replacement starts go to the worker that lives.
    await Promise.all(Array.from({ length: 10 }, () => client(daemon).chat.completions.create(ask)));
    const replaced = await eventually(async () => {
      const now = (await state(admin)).workers;
      return now.length === 2 && !now.some((worker) => worker.pid === first!.pid) ? now : undefined;
    });
    expect(replaced.map((worker) => worker.pid)).toContain(second!.pid);
    expect(daemon.stderr()).toMatch(/worker replaced/);
  });

  it('lets a stream finish on SIGTERM, then every process exits', async () => {
    const { daemon, admin, home } = await daemonWith('sigterm');
    const { workers } = await state(admin);
    mock.script('*', { type: 'stream', chunks: 20, delayMs: 25 });
    const stream = await client(daemon).chat.completions.create({ ...ask, stream: true });
    const chunks: string[] = [];
    const read = (async () => {
      for await (const chunk of stream) chunks.push(chunk.choices[0]?.delta.content ?? '');
    })();
    await mock.waitForRequest();
    const exit = daemon.stop('SIGTERM');
    await read;
    expect(await exit).toBe(0);
    expect(chunks.length).toBeGreaterThanOrEqual(20);
    for (const worker of workers) expect(gone(worker.pid)).toBe(true);
    const records = await accessLog(home);
    expect(records).toHaveLength(1);
    expect(records[0]!.status).toBe(200);
  });

  it('takes its workers with it when the primary is killed, and starts again on the same store', async () => {
    const limits = { strategy: 'fixed-window', global: '5/hour' };
    const first = await daemonWith('kill9', { limits });
    const { workers } = await state(first.admin);
    for (let i = 0; i < 3; i++) await client(first.daemon).chat.completions.create(ask);
    // Counters are saved within a second: wait for the write, not for a time.
    const { openSqliteFile } = await import('../../src/store/sqlite-file.js');
    const db = await openSqliteFile(`${first.home}/state.sqlite`);
    await eventually(async () => {
      const rows = await db.all<{ points: number }>('SELECT points FROM aifd_limits');
      return rows.some((row) => row.points === 3) ? true : undefined;
    });
    await db.close();
    first.daemon.child.kill('SIGKILL');
    await once(first.daemon.child, 'exit');
    await eventually(async () => (workers.every((worker) => gone(worker.pid)) ? true : undefined));

    const again = await daemonWith('kill9', { limits });
    const results = await Promise.allSettled(
      Array.from({ length: 4 }, () => client(again.daemon).chat.completions.create(ask)),
    );
    expect(results.filter((result) => result.status === 'fulfilled')).toHaveLength(2);
  });

  it('counts together on a Redis store', async () => {
    const { daemon, home } = await daemonWith('redis', {
      store: 'redis://127.0.0.1:6379',
      storePrefix: PREFIX,
      limits: { strategy: 'fixed-window', global: '10/hour' },
    });
    const results = await Promise.allSettled(
      Array.from({ length: 20 }, () => client(daemon).chat.completions.create(ask)),
    );
    expect(results.filter((result) => result.status === 'fulfilled')).toHaveLength(10);
    expect(await daemon.stop('SIGTERM')).toBe(0);
    expect(await accessLog(home)).toHaveLength(20);
  });
});

describe('aifd run --workers refuses', () => {
  it('0, 1000 and words, before starting anything', async () => {
    const zero = await runCli(['run', '--workers', '0']);
    expect(zero.code).toBe(2);
    expect(zero.stderr).toContain('must be a whole number of at least 1, or auto');
    const many = await runCli(['run', '--workers', '1000'], { cwd: dir });
    expect(many.code).toBe(2);
    expect(many.stderr).toMatch(/1000 workers is more than \d+ \(4 per core/);
    const word = await runCli(['run', '--workers', 'many']);
    expect(word.code).toBe(2);
  });

  it('a port it cannot bind: one clear line, exit 1, no worker left behind', async () => {
    const taken = net.createServer();
    await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
    const port = (taken.address() as net.AddressInfo).port;
    const file = path.join(dir, 'taken.json');
    await writeFile(
      file,
      JSON.stringify({
        store: 'memory://',
        logs: { dir: path.join(dir, 'taken-logs') },
        upstreams: [{ name: 'openai', baseUrl: mock.url, keys: [GOOD_KEY] }],
        auth: { anonymous: true },
        admin: { enabled: false },
      }),
    );
    const result = await runCli(['run', '--config', file, '--port', String(port), '--workers', '2']);
    taken.close();
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(`cannot listen on 127.0.0.1:${port}: the address is already in use`);
    expect(result.stderr).not.toContain('    at ');
    // No process started with that config lives on.
    expect(spawnSync('pgrep', ['-f', file]).status).toBe(1);
  });
});
