import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import OpenAI from 'openai';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { startMockUpstream, type MockUpstream } from '../mock-upstream/mock-upstream.js';
import { runCli, startDaemon } from '../helpers/cli.js';

let mock: MockUpstream;
let dir: string;
beforeAll(async () => {
  mock = await startMockUpstream();
  dir = await mkdtemp(path.join(os.tmpdir(), 'aifd-cache-cli-'));
  await writeFile(
    path.join(dir, 'hub.config.json'),
    JSON.stringify({
      admin: { port: 0 },
      upstreams: [{ name: 'o', baseUrl: mock.url }],
      cache: { chatCompletions: true },
    }),
  );
});
afterAll(async () => {
  await mock.close();
  await rm(dir, { recursive: true, force: true });
});

describe('aifd cache stats / clear', () => {
  it('reads and empties the cache, live and from the store', async () => {
    const daemon = await startDaemon(['--port', '0'], { cwd: dir });
    const client = new OpenAI({ apiKey: 'sk-own', baseURL: `${daemon.url}/v1`, maxRetries: 0 });
    await client.chat.completions.create({ model: 'gpt-4o-mini', messages: [] });
    await client.chat.completions.create({ model: 'gpt-4o-mini', messages: [] });
    const live = JSON.parse((await runCli(['cache', 'stats', '--json'], { cwd: dir })).stdout);
    expect(live).toMatchObject({ source: 'daemon', entries: 1, counters: { hits: 1, misses: 1, stored: 1 } });
    expect(await daemon.stop()).toBe(0);
    const stored = await runCli(['cache', 'stats', '--json'], { cwd: dir });
    expect(JSON.parse(stored.stdout)).toMatchObject({ source: 'store', entries: 1 });
    const cleared = await runCli(['cache', 'clear'], { cwd: dir });
    expect(cleared.code).toBe(0);
    expect(cleared.stdout).toContain('cache cleared');
    expect(JSON.parse((await runCli(['cache', 'stats', '--json'], { cwd: dir })).stdout).entries).toBe(0);
  });
});
