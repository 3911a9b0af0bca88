import { afterEach, describe, expect, it } from 'vitest';
import OpenAI from 'openai';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { useMockUpstream } from '../helpers/mock.js';
import { runCli, startDaemon, type RunningDaemon } from '../helpers/cli.js';

const GOOD = 'sk-good-key-aaaaaaaaaaaaaaaaaaaaaaaa1';
const REVOKED = 'sk-revoked-key-bbbbbbbbbbbbbbbbbbbbb2';
const BROKE = 'sk-broke-key-cccccccccccccccccccccc3';
const ADMIN_TOKEN = 'admin-secret-token-dddddddddddd4';
const SECRETS = [GOOD, REVOKED, BROKE, ADMIN_TOKEN];

const mock = useMockUpstream();
let dir: string;
const daemons: RunningDaemon[] = [];

afterEach(async () => {
  await Promise.all(daemons.splice(0).map((daemon) => daemon.stop('SIGKILL')));
  await rm(dir, { recursive: true, force: true });
});

async function writeConfig(
  keys: string[],
  admin: Record<string, unknown> = { port: 0, token: '${ADMIN_TOKEN}' },
): Promise<string> {
  dir = await mkdtemp(path.join(os.tmpdir(), 'aifd-keys-'));
  await writeFile(
    path.join(dir, 'hub.config.json'),
    JSON.stringify({
      admin,
      upstreams: [
        { name: 'openai', baseUrl: mock.url, keys: keys.map((_, i) => `\${KEY_${i}}`) },
        { name: 'local', route: '/local', baseUrl: mock.url, keys: [] },
      ],
      auth: { anonymous: true },
    }),
  );
  return dir;
}

function env(keys: string[]): Record<string, string> {
  return { ADMIN_TOKEN, ...Object.fromEntries(keys.map((key, i) => [`KEY_${i}`, key])) };
}

function scriptVerdicts(): void {
  mock.options.validKeys = new Set([GOOD, BROKE]);
  mock.always(BROKE, { type: 'error', error: 'insufficient_quota' });
}

function expectNoSecrets(...outputs: string[]): void {
  for (const output of outputs) for (const secret of SECRETS) expect(output).not.toContain(secret);
}

describe('aifd keys check / list without a daemon', () => {
  it('classifies every key, exits 1 when one is unusable, and stores the result', async () => {
    const keys = [GOOD, REVOKED, BROKE];
    const cwd = await writeConfig(keys);
    scriptVerdicts();
    const check = await runCli(['keys', 'check', '--json'], { cwd, env: env(keys) });
    expect(check.code).toBe(1);
    const { source, results } = JSON.parse(check.stdout);
    expect(source).toBe('direct');
    expect(results.map((r: { verdict: string }) => r.verdict)).toEqual(['ok', 'revoked', 'over_quota']);
    expect(results[0].models).toContain('gpt-4o-mini');
    expect(results[1].key).toBe('sk-…bbb2');

    const table = await runCli(['keys', 'check'], { cwd, env: env(keys) });
    expect(table.code).toBe(1);
    expect(table.stdout).toMatch(/openai\s+\w{12}\s+sk-…aaa1\s+ok/);
    expect(table.stdout).toContain('revoked');

    const list = await runCli(['keys', 'list', '--json'], { cwd, env: env(keys) });
    expect(list.code).toBe(0);
    const listed = JSON.parse(list.stdout);
    expect(listed.source).toBe('stored');
    expect(listed.keys.map((k: { status: string }) => k.status)).toEqual(['ok', 'revoked', 'over_quota']);
    const human = await runCli(['keys', 'list'], { cwd, env: env(keys) });
    expect(human.stderr).toContain('daemon not running');
    expectNoSecrets(check.stdout, check.stderr, table.stdout, list.stdout, human.stdout, human.stderr);
  });

  it('exits 0 when every key is usable, and narrows to one upstream', async () => {
    const keys = [GOOD];
    const cwd = await writeConfig(keys);
    const check = await runCli(['keys', 'check', '--upstream', 'openai'], { cwd, env: env(keys) });
    expect(check.code).toBe(0);
    const unknown = await runCli(['keys', 'check', '--upstream', 'nope'], { cwd, env: env(keys) });
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain('no upstream named "nope"');
  });

  it('calls an unreachable upstream unreachable', async () => {
    const keys = [GOOD];
    dir = await mkdtemp(path.join(os.tmpdir(), 'aifd-keys-'));
    await writeFile(
      path.join(dir, 'hub.config.json'),
      JSON.stringify({
        admin: { port: 0 },
        upstreams: [{ name: 'gone', baseUrl: 'http://127.0.0.1:1', keys: ['${KEY_0}'] }],
        auth: { anonymous: true },
      }),
    );
    const check = await runCli(['keys', 'check', '--json'], { cwd: dir, env: env(keys) });
    expect(check.code).toBe(1);
    expect(JSON.parse(check.stdout).results[0]).toMatchObject({ verdict: 'unreachable', detail: 'ECONNREFUSED' });
  });
});

describe('aifd keys check / list against a running daemon', () => {
  it('reads live state and checks through the daemon, which then drops the bad key', async () => {
    const keys = [GOOD, REVOKED];
    const cwd = await writeConfig(keys);
    const daemon = await startDaemon(['--port', '0'], { cwd, env: env(keys) });
    daemons.push(daemon);
    expect(daemon.stderr()).toContain('(token required)');
    const client = new OpenAI({ apiKey: 'client', baseURL: `${daemon.url}/v1`, maxRetries: 0 });
    await client.chat.completions.create({ model: 'gpt-4o-mini', messages: [] });

    const list = await runCli(['keys', 'list', '--json'], { cwd, env: env(keys) });
    const listed = JSON.parse(list.stdout);
    expect(listed.source).toBe('daemon');
    expect(listed.keys.reduce((sum: number, k: { requests: number }) => sum + k.requests, 0)).toBe(1);

    const wrongToken = await runCli(['keys', 'list'], {
      cwd,
      env: { ...env(keys), ADMIN_TOKEN: 'wrong-token-wrong-token' },
    });
    expect(wrongToken.code).toBe(1);
    expect(wrongToken.stderr).toContain('401');

    mock.options.validKeys = new Set([GOOD]);
    const check = await runCli(['keys', 'check'], { cwd, env: env(keys) });
    expect(check.code).toBe(1);
    expect(check.stderr).toContain('checked by the running daemon');
    mock.reset();
    for (let i = 0; i < 4; i++) await client.chat.completions.create({ model: 'gpt-4o-mini', messages: [] });
    expect(mock.received.every((request) => request.key === GOOD)).toBe(true);
    const after = JSON.parse((await runCli(['keys', 'list', '--json'], { cwd, env: env(keys) })).stdout);
    expect(after.keys.find((k: { key: string }) => k.key === 'sk-…bbb2').status).toBe('revoked');
    expectNoSecrets(list.stdout, check.stdout, check.stderr, daemon.stderr(), daemon.stdout());
  });
});
