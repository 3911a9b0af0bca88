import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import OpenAI from 'openai';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { startMockUpstream, type MockUpstream } from '../mock-upstream/mock-upstream.js';
import { AIFD_BIN, runCli, startDaemon } from '../helpers/cli.js';

const TOKEN = 'top-e2e-admin-token-000000';
let mock: MockUpstream;
let dir: string;

beforeAll(async () => {
  mock = await startMockUpstream();
  dir = await mkdtemp(path.join(os.tmpdir(), 'aifd-top-'));
  await writeFile(
    path.join(dir, 'hub.config.json'),
    JSON.stringify({
      admin: { port: 0, token: '${ADMIN_TOKEN}' },
      upstreams: [{ name: 'openai', baseUrl: mock.url, keys: ['sk-top-e2e-pool-key-zzzz'] }],
      auth: { anonymous: true },
    }),
  );
});
afterAll(async () => {
  await mock.close();
  await rm(dir, { recursive: true, force: true });
});

// eslint-disable-next-line no-control-regex
const strip = (text: string) => text.replace(/\u001b\[[0-9;?]*[A-Za-z]/g, '');

describe('aifd top in a real pseudo-terminal', () => {
  it("shows a key's in-flight count rise while slow requests run, and quits on q", async () => {
    const daemon = await startDaemon(['--port', '0'], { cwd: dir, env: { ADMIN_TOKEN: TOKEN } });
    try {
      // util-linux `script` gives top a real pty; its output is read as it comes
      const top = spawn(
        'script',
        ['-qfec', `stty cols 110 rows 30; ${process.execPath} ${AIFD_BIN} top`, '/dev/null'],
        {
          cwd: dir,
          env: {
            PATH: process.env.PATH,
            HOME: process.env.HOME,
            ADMIN_TOKEN: TOKEN,
            TERM: 'xterm-256color',
            FORCE_COLOR: '0',
          },
          stdio: ['pipe', 'pipe', 'pipe'],
        },
      );
      let screen = '';
      const seen = (pattern: RegExp) =>
        new Promise<void>((resolve) => {
          const check = () => {
            if (pattern.test(strip(screen))) {
              top.stdout.off('data', onData);
              resolve();
            }
          };
          const onData = (chunk: Buffer) => {
            screen += chunk.toString();
            check();
          };
          top.stdout.on('data', onData);
          check();
        });
      await seen(/live/);
      await seen(/sk-…zzzz\s+ok\s+\S+\s+0\b/);
      const client = new OpenAI({ apiKey: 'anyone', baseURL: `${daemon.url}/v1`, maxRetries: 0 });
      mock.options.streamChunks = 20;
      mock.options.chunkDelayMs = 150;
      const streams = Array.from({ length: 3 }, async () => {
        const stream = await client.chat.completions.create({ model: 'gpt-4o-mini', messages: [], stream: true });
        for await (const _ of stream) void _;
      });
      await seen(/sk-…zzzz\s+ok\s+█████ 3/);
      await Promise.all(streams);
      top.stdin.write('q');
      const [code] = (await once(top, 'exit')) as [number];
      expect(code).toBe(0);
    } finally {
      await daemon.stop();
    }
  });

  it('says clearly that it cannot reach the daemon, exit 1', async () => {
    const result = await runCli(['top', '--admin-url', 'http://127.0.0.1:1']);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('ECONNREFUSED');
  });
});
