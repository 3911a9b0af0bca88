/** A command whose reader goes away (`aifd … | head`) ends quietly with status 0, as Unix tools do. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { runCli } from '../helpers/cli.js';

let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'aifd-pipe-'));
  await writeFile(
    path.join(dir, 'hub.config.json'),
    JSON.stringify({
      admin: { enabled: false },
      upstreams: [{ name: 'openai', baseUrl: 'http://127.0.0.1:9', keys: ['sk-pipe-test-pool-key-000000000'] }],
      auth: { anonymous: true },
    }),
  );
  // A chat log far larger than a pipe's buffer, so the converter is still writing when the reader leaves.
  await mkdir(path.join(dir, 'aifd-logs'));
  const line = (i: number) =>
    JSON.stringify({
      ts: new Date(Date.UTC(2026, 10, 20, 10, 0, i % 60)).toISOString(),
      id: `id-${i}`,
      user: 'ann',
      ip: '10.0.0.1',
      model: 'gpt-4o-mini',
      params: {},
      messages: [{ role: 'user', content: `question ${i} ${'x'.repeat(200)}` }],
      tools: null,
      functions: null,
      assistant: `answer ${i}`,
      tool_calls: null,
      function_call: null,
      finish_reason: 'stop',
      usage: null,
      aborted: false,
      cache: null,
      error: null,
    });
  await writeFile(
    path.join(dir, 'aifd-logs', 'chat-2026-11-20.log'),
    Array.from({ length: 5000 }, (_, i) => line(i)).join('\n') + '\n',
  );
});
afterAll(() => rm(dir, { recursive: true, force: true }));

describe('a closed stdout', () => {
  const commands: [string, string[]][] = [
    ['logs convert --output -', ['logs', 'convert', '--output', '-']],
    ['keys list', ['keys', 'list']],
    ['keys list --json', ['keys', 'list', '--json']],
    ['usage', ['usage']],
    ['completion bash', ['completion', 'bash']],
  ];
  for (const [name, args] of commands) {
    it(`ends "${name}" with status 0 and nothing on stderr, before the first byte and midway`, async () => {
      for (const closeStdoutAfter of [0, 100]) {
        const result = await runCli(args, { cwd: dir, closeStdoutAfter });
        expect(result.stderr, `${name} closed after ${closeStdoutAfter}`).not.toMatch(
          /EPIPE|unexpected error|\n\s+at /,
        );
        expect(result.code, `${name} closed after ${closeStdoutAfter}`).toBe(0);
      }
    });
  }

  it('still prints the whole output to a reader that stays', async () => {
    const result = await runCli(['logs', 'convert', '--output', '-'], { cwd: dir });
    expect(result.code).toBe(0);
    expect(JSON.parse(result.stdout)).toHaveLength(5000);
  });
});
