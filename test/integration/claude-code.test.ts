/**
 * Claude Code against aifd: its native binary (@anthropic-ai/claude-code-linux-x64, which .ci/run
 * installs into the CI cache; `AIFD_CLAUDE_CODE` names it) in print mode with its network extras
 * off, ANTHROPIC_BASE_URL at aifd, a forward key as its API key, the Anthropic mock behind a pool
 * key. One prompt goes through; aifd records it, priced, under the caller.
 */
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AnthropicMock } from '../mock-upstream/anthropic.js';
import { startHub } from '../helpers/hub.js';
import { costOf, priceTable } from '../../src/usage/prices.js';

const CLAUDE =
  process.env.AIFD_CLAUDE_CODE ??
  path.join(os.homedir(), '.cache/aifd-ci/claude-code/node_modules/@anthropic-ai/claude-code-linux-x64/claude');
const POOL_KEY = 'sk-ant-api03-claude-code-pool-00000000000000';
const CODER = 'fk-claude-code-coder-0000000000000';

const mock = new AnthropicMock();
let home: string;
beforeAll(async () => {
  await mock.start();
  home = await mkdtemp(path.join(os.tmpdir(), 'aifd-claude-code-'));
});
afterAll(async () => {
  await mock.close();
  await rm(home, { recursive: true, force: true });
});

describe.skipIf(!existsSync(CLAUDE))('Claude Code through aifd', () => {
  it('answers one prompt in print mode, and aifd records it under the caller with its cost', async () => {
    const running = await startHub({
      upstreams: [{ name: 'claude', api: 'anthropic', baseUrl: mock.url, keys: [POOL_KEY] }],
      auth: { forwardKeys: [{ key: CODER, user: 'coder', roles: [] }] },
    });
    const child = spawn(CLAUDE, ['-p', 'Say hello', '--output-format', 'json'], {
      cwd: home,
      env: {
        PATH: process.env.PATH,
        HOME: home,
        ANTHROPIC_BASE_URL: running.url,
        ANTHROPIC_API_KEY: CODER,
        // Nothing but the model's API: no telemetry, updates, error reports or other traffic.
        CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC: '1',
        DISABLE_TELEMETRY: '1',
        DISABLE_AUTOUPDATER: '1',
        DISABLE_ERROR_REPORTING: '1',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const [code] = await once(child, 'exit');
    expect(code, stderr).toBe(0);
    const result = JSON.parse(stdout) as { result: string; is_error: boolean; total_cost_usd: number };
    expect(result.is_error).toBe(false);
    expect(result.result).toBe('Hello! How can I help you today?');
    // It reached the upstream with the pool key, never with the caller's.
    expect(mock.received.length).toBeGreaterThan(0);
    expect(mock.received.every((seen) => seen.key === POOL_KEY)).toBe(true);
    expect(mock.received.some((seen) => JSON.stringify(seen.headers).includes(CODER))).toBe(false);
    const records = await running.closeAndReadAccessLog();
    const messages = records.filter((record) => record.path === '/v1/messages');
    expect(messages.length).toBeGreaterThan(0);
    let spent = 0;
    for (const record of messages) {
      expect(record).toMatchObject({ user: 'coder', status: 200, usageSource: 'upstream' });
      spent += costOf(priceTable(undefined), record.model!, record.usage!)!;
    }
    // aifd charges what Claude Code itself says the session cost (cache writes at their rate).
    expect(spent).toBeCloseTo(result.total_cost_usd, 9);
  });
});
