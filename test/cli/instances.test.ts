/**
 * `aifd run` as real processes: SIGHUP and --watch-config reload the config file, and two daemons
 * on one Redis act as one gateway.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import OpenAI from 'openai';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { useMockUpstream } from '../helpers/mock.js';
import { deleteRedisKeys } from '../helpers/redis-server.js';
import { startDaemon, type RunningDaemon } from '../helpers/cli.js';

const POOL_KEY = 'sk-cli-instances-pool-key-0000000000';
const ANN = 'fk-cli-ann-0000000000000000';
const BOB = 'fk-cli-bob-0000000000000000';
const PREFIX = `aifd-test-${randomBytes(4).toString('hex')}:`;

const mock = useMockUpstream();
let dir: string;
const daemons: RunningDaemon[] = [];

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'aifd-instances-'));
});
afterEach(async () => {
  await Promise.all(daemons.splice(0).map((daemon) => daemon.stop('SIGTERM')));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
  await deleteRedisKeys(PREFIX);
});

function config(extra: Record<string, unknown> = {}) {
  return {
    store: 'memory://',
    upstreams: [{ name: 'openai', baseUrl: mock.url, keys: [POOL_KEY] }],
    auth: { forwardKeys: [{ key: ANN, user: 'ann', roles: [] }] },
    admin: { enabled: false },
    ...extra,
  };
}

async function daemonWith(file: string, content: object, args: string[] = []): Promise<RunningDaemon> {
  await writeFile(file, JSON.stringify(content));
  const daemon = await startDaemon(['--config', file, '--port', '0', ...args], { cwd: dir });
  daemons.push(daemon);
  return daemon;
}

const chat = (daemon: RunningDaemon, key: string) =>
  new OpenAI({ apiKey: key, baseURL: `${daemon.url}/v1`, maxRetries: 0 }).chat.completions.create({
    model: 'gpt-4o-mini',
    messages: [],
  });

describe('aifd run reloads its config', () => {
  it('on SIGHUP, and keeps the old config when the new one is invalid', async () => {
    const file = path.join(dir, 'sighup.json');
    const daemon = await daemonWith(file, config());
    expect((await chat(daemon, ANN)).object).toBe('chat.completion');
    await expect(chat(daemon, BOB)).rejects.toBeInstanceOf(OpenAI.AuthenticationError);

    await writeFile(file, JSON.stringify(config({ auth: { forwardKeys: [{ key: BOB, user: 'bob', roles: [] }] } })));
    let from = daemon.stderr().length;
    daemon.child.kill('SIGHUP');
    await daemon.waitForStderr(/config reloaded/, from);
    expect((await chat(daemon, BOB)).object).toBe('chat.completion');
    await expect(chat(daemon, ANN)).rejects.toBeInstanceOf(OpenAI.AuthenticationError);

    await writeFile(file, JSON.stringify({ ...config(), upstreams: [] }));
    from = daemon.stderr().length;
    daemon.child.kill('SIGHUP');
    await daemon.waitForStderr(/config reload refused/, from);
    expect(daemon.stderr().slice(from)).toContain('at least one upstream');
    expect((await chat(daemon, BOB)).object).toBe('chat.completion');
  });

  it('when the file changes, with --watch-config', async () => {
    const file = path.join(dir, 'watched.json');
    const daemon = await daemonWith(file, config(), ['--watch-config']);
    await expect(chat(daemon, BOB)).rejects.toBeInstanceOf(OpenAI.AuthenticationError);
    const from = daemon.stderr().length;
    await writeFile(file, JSON.stringify(config({ auth: { forwardKeys: [{ key: BOB, user: 'bob', roles: [] }] } })));
    await daemon.waitForStderr(/config reloaded/, from);
    expect((await chat(daemon, BOB)).object).toBe('chat.completion');
  });
});

describe('two aifd processes on one Redis', () => {
  it('enforce a global limit of N exactly under parallel load', async () => {
    const shared = config({
      store: 'redis://127.0.0.1:6379',
      storePrefix: PREFIX,
      limits: { strategy: 'fixed-window', global: '20/hour' },
      logs: { dir: path.join(dir, 'logs') },
    });
    const first = await daemonWith(path.join(dir, 'one.json'), shared);
    const second = await daemonWith(path.join(dir, 'two.json'), shared);
    const results = await Promise.allSettled(
      Array.from({ length: 60 }, (_, i) => chat(i % 2 === 0 ? first : second, ANN)),
    );
    const answered = results.filter((result) => result.status === 'fulfilled');
    expect(answered).toHaveLength(20);
    expect(mock.received).toHaveLength(20);
    const refused = results.filter((result): result is PromiseRejectedResult => result.status === 'rejected');
    expect(refused.every((result) => result.reason instanceof OpenAI.RateLimitError)).toBe(true);

    // Both wrote daemon.json in the shared logs folder; the one stopping first leaves the other's.
    const runtimeFile = path.join(dir, 'logs', 'daemon.json');
    const pidIn = async () => (JSON.parse(await readFile(runtimeFile, 'utf8')) as { pid: number }).pid;
    const last = (await pidIn()) === second.child.pid ? second : first;
    const other = last === second ? first : second;
    expect(await other.stop('SIGTERM')).toBe(0);
    expect(await pidIn()).toBe(last.child.pid);
    expect(await last.stop('SIGTERM')).toBe(0);
    await expect(readFile(runtimeFile, 'utf8')).rejects.toThrow(/ENOENT/);
  });
});
