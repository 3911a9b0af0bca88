/**
 * `aifd logs tail` as a real process against the access log a real daemon writes: the table, the
 * filters, `--json` for jq, corrupt lines skipped and counted, and `--follow` showing a request made
 * after it started.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import OpenAI from 'openai';
import { spawn } from 'node:child_process';
import { appendFile, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { useMockUpstream } from '../helpers/mock.js';
import { eventually } from '../helpers/eventually.js';
import { AIFD_BIN, runCli, startDaemon, type RunningDaemon } from '../helpers/cli.js';
import { accessLogFiles } from '../../src/logs/access-tail.js';
import type { AccessRecord } from '../../src/logs/access-record.js';

const POOL_KEY = 'sk-logs-tail-pool-key-000000000000';
const ANN = 'fk-logs-tail-ann-00000000000000';
const BOB = 'fk-logs-tail-bob-00000000000000';

const mock = useMockUpstream();
let dir: string;
let file: string;
let daemon: RunningDaemon;

const sdk = (key: string) => new OpenAI({ apiKey: key, baseURL: `${daemon.url}/v1`, maxRetries: 0 });

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'aifd-logs-tail-'));
  file = path.join(dir, 'hub.config.json');
  await writeFile(
    file,
    JSON.stringify({
      store: 'memory://',
      logs: { dir: path.join(dir, 'logs') },
      upstreams: [{ name: 'openai', baseUrl: mock.url, keys: [POOL_KEY] }],
      auth: {
        forwardKeys: [
          { key: ANN, user: 'ann', roles: [] },
          { key: BOB, user: 'bob', roles: [] },
        ],
      },
      admin: { enabled: false },
    }),
  );
  daemon = await startDaemon(['--config', file, '--port', '0'], { cwd: dir });
  await sdk(ANN).chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }] });
  await sdk(BOB).embeddings.create({ model: 'text-embedding-3-small', input: 'hello' });
  await sdk('fk-nobody-0000000000000000')
    .chat.completions.create({ model: 'gpt-4o-mini', messages: [] })
    .catch(() => undefined);
  // The access log is written within a turn of the event loop: wait for its three lines.
  await eventually(async () => ((await lines()).length === 3 ? true : undefined));
});
afterAll(async () => {
  await daemon.stop('SIGTERM');
  await rm(dir, { recursive: true, force: true });
});

async function lines(): Promise<string[]> {
  const { readFile } = await import('node:fs/promises');
  const out: string[] = [];
  for (const name of await accessLogFiles(path.join(dir, 'logs')))
    out.push(...(await readFile(name, 'utf8')).split('\n').filter(Boolean));
  return out;
}

describe('aifd logs tail', () => {
  it('prints the access log as a table, filtered by user, status and model', async () => {
    const all = await runCli(['logs', 'tail', '--config', file], { cwd: dir });
    expect(all.code).toBe(0);
    const rows = all.stdout.trim().split('\n');
    expect(rows[0]).toMatch(/^TIME\s+STATUS\s+USER\s+METHOD\s+PATH\s+MODEL\s+TOKENS/);
    expect(rows).toHaveLength(4);
    expect(rows[1]).toMatch(/ 200 +ann +POST +\/v1\/chat\/completions +gpt-4o-mini/);
    expect(rows[2]).toMatch(/ 200 +bob +POST +\/v1\/embeddings/);
    expect(rows[3]).toMatch(/ 401 +- +POST +\/v1\/chat\/completions/);
    expect(all.stdout).not.toContain(POOL_KEY);

    const bob = await runCli(['logs', 'tail', '--config', file, '--user', 'bob'], { cwd: dir });
    expect(bob.stdout.trim().split('\n')).toHaveLength(2);
    const failed = await runCli(['logs', 'tail', '--config', file, '--status', '4xx'], { cwd: dir });
    expect(failed.stdout.trim().split('\n').slice(1)).toEqual([expect.stringMatching(/ 401 /)]);
    // The refused request never got as far as its model: the last gpt-4o* line is ann's.
    const models = await runCli(['logs', 'tail', '--config', file, '--model', 'gpt-4o*', '--lines', '1'], { cwd: dir });
    expect(models.stdout.trim().split('\n').slice(1)).toEqual([expect.stringMatching(/ 200 +ann /)]);
  });

  it('passes the lines through with --json, and skips and counts lines that are not records', async () => {
    const [first] = await accessLogFiles(path.join(dir, 'logs'));
    await appendFile(first!, 'not a record\n{"half":\n');
    const json = await runCli(['logs', 'tail', '--config', file, '--json'], { cwd: dir });
    expect(json.code).toBe(0);
    const records = json.stdout
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as AccessRecord);
    expect(records.map((record) => record.user)).toEqual(['ann', 'bob', null]);
    expect(json.stderr).toContain('2 line(s) that are not records skipped');
  });

  it('follows: a request made after it started is printed', async () => {
    const follower = spawn(process.execPath, [AIFD_BIN, 'logs', 'tail', '--config', file, '--follow', '--lines', '0'], {
      cwd: dir,
      env: { PATH: process.env.PATH, NO_COLOR: '1', FORCE_COLOR: '0' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    follower.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
    const exited = new Promise((resolve) => follower.once('exit', resolve));
    try {
      await eventually(async () => (out.includes('TIME') ? true : undefined));
      await sdk(BOB).chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'later' }] });
      await eventually(async () => (/ 200 +bob +POST +\/v1\/chat\/completions/.test(out) ? true : undefined));
    } finally {
      follower.kill('SIGTERM');
      await exited;
    }
    expect(out.trim().split('\n')).toHaveLength(2);
  });

  it('refuses a status or time it cannot read', async () => {
    const status = await runCli(['logs', 'tail', '--config', file, '--status', 'bad'], { cwd: dir });
    expect(status.code).toBe(2);
    expect(status.stderr).toContain('--status "bad" is not a status');
    const since = await runCli(['logs', 'tail', '--config', file, '--since', 'yesterday-ish'], { cwd: dir });
    expect(since.code).toBe(2);
  });
});
