import { afterAll, afterEach, describe, expect, it } from 'vitest';
import OpenAI from 'openai';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { useMockUpstream } from '../helpers/mock.js';
import { runCli, startDaemon, type RunningDaemon } from '../helpers/cli.js';

const KEY_1 = 'sk-proj-example-key-one-Zq81hH2KdL0pp';
const KEY_2 = 'sk-proj-example-key-two-Xw90jJ3MeM1qq';
const TEAM_A = 'team-a-forward-key-Yv77kK4NfN2rr';
const JWT_SECRET = 'jwt-secret-that-is-at-least-32-bytes-long!!';
const ADMIN_TOKEN = 'admin-token-Pp55lL6OgO3ss';
const SECRETS = [KEY_1, KEY_2, TEAM_A, JWT_SECRET, ADMIN_TOKEN];

const mock = useMockUpstream();
const dirs: string[] = [];
const daemons: RunningDaemon[] = [];

async function tempDir(): Promise<string> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'aifd-cli-'));
  dirs.push(dir);
  return dir;
}

async function filesUnder(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  return entries.filter((entry) => entry.isFile()).map((entry) => path.join(entry.parentPath, entry.name));
}

afterEach(async () => {
  await Promise.all(daemons.splice(0).map((daemon) => daemon.stop('SIGKILL')));
});
afterAll(async () => {
  await Promise.all(dirs.map((dir) => rm(dir, { recursive: true, force: true })));
});

describe('aifd run', () => {
  it('starts with the example config, keys from env, prints a banner without keys, and forwards', async () => {
    const cwd = await tempDir();
    const env = {
      OPENAI_KEY_1: KEY_1,
      OPENAI_KEY_2: KEY_2,
      AIFD_JWT_SECRET: JWT_SECRET,
      TEAM_A_KEY: TEAM_A,
      AIFD_ADMIN_TOKEN: ADMIN_TOKEN,
      OPENAI_BASE_URL: mock.url,
    };
    // relative paths in a config file (logs, store) are relative to the file: keep them in the temp dir
    await writeFile(path.join(cwd, 'hub.config.json'), await readFile('hub.config.example.json'));
    const daemon = await startDaemon(['--config', 'hub.config.json', '--port', '0', '--admin-port', '0'], { cwd, env });
    daemons.push(daemon);
    const banner = daemon.stderr();
    expect(banner).toContain('aifd');
    expect(banner).toMatch(/\/\s+→ openai/);
    expect(banner).toMatch(/\/local\s+→ local/);
    expect(banner).toContain('2 pool key(s)');
    expect(banner).toContain('state.sqlite');

    const client = new OpenAI({ apiKey: TEAM_A, baseURL: `${daemon.url}/v1`, maxRetries: 0 });
    const completion = await client.chat.completions.create({
      model: 'gpt-4o-mini',
      messages: [{ role: 'user', content: 'hi' }],
    });
    expect(completion.object).toBe('chat.completion');
    const received = await mock.waitForRequest();
    expect([`Bearer ${KEY_1}`, `Bearer ${KEY_2}`]).toContain(received.headers.authorization);

    expect(await daemon.stop('SIGTERM')).toBe(0);
    const output = daemon.stderr() + daemon.stdout();
    const written = await filesUnder(cwd);
    expect(written.some((file) => file.endsWith('aifd.log'))).toBe(true);
    for (const secret of SECRETS) {
      expect(output).not.toContain(secret);
      for (const file of written) expect((await readFile(file)).includes(secret), `${secret} in ${file}`).toBe(false);
    }
  });

  it('with no config file forwards the client key to OPENAI_BASE_URL (pass-through)', async () => {
    const cwd = await tempDir();
    const daemon = await startDaemon(['--port', '0', '--admin-port', '0'], {
      cwd,
      env: { OPENAI_BASE_URL: `${mock.url}/v1` },
    });
    daemons.push(daemon);
    expect(daemon.stderr()).toContain('pass-through');
    const client = new OpenAI({ apiKey: 'sk-users-own-key', baseURL: `${daemon.url}/v1`, maxRetries: 0 });
    const models = await client.models.list();
    expect(models.data.length).toBeGreaterThan(0);
    const received = await mock.waitForRequest();
    expect(received.url).toBe('/v1/models');
    expect(received.headers.authorization).toBe('Bearer sk-users-own-key');
    const written = await filesUnder(cwd);
    expect(written.some((file) => file.endsWith(path.join('aifd-data', 'state.sqlite')))).toBe(true);
  });

  it('creates a log file only when it has something to write: no empty sink-fallback file', async () => {
    const cwd = await tempDir();
    const daemon = await startDaemon(['--port', '0', '--admin-port', '0'], { cwd, env: { OPENAI_BASE_URL: mock.url } });
    daemons.push(daemon);
    await new OpenAI({ apiKey: 'sk-own', baseURL: `${daemon.url}/v1`, maxRetries: 0 }).models.list();
    expect(await daemon.stop('SIGTERM')).toBe(0);
    const logs = (await filesUnder(path.join(cwd, 'aifd-logs'))).map((file) => path.basename(file));
    expect(logs.some((name) => name.startsWith('access-'))).toBe(true);
    expect(logs.filter((name) => name.includes('sink-fallback'))).toEqual([]);
    for (const file of await filesUnder(path.join(cwd, 'aifd-logs')))
      expect((await readFile(file)).length, file).toBeGreaterThan(0);
  });

  it('lets a stream finish after SIGTERM, then exits 0', async () => {
    const cwd = await tempDir();
    const daemon = await startDaemon(['--port', '0', '--admin-port', '0'], { cwd, env: { OPENAI_BASE_URL: mock.url } });
    daemons.push(daemon);
    mock.script('*', { type: 'stream', chunks: 8, delayMs: 100 });
    const client = new OpenAI({ apiKey: 'sk-own', baseURL: `${daemon.url}/v1`, maxRetries: 0 });
    const stream = await client.chat.completions.create({ model: 'gpt-4o-mini', messages: [], stream: true });
    let text = '';
    let exited: Promise<number | null> | undefined;
    for await (const chunk of stream) {
      text += chunk.choices[0]?.delta.content ?? '';
      if (!exited && text.length > 0) exited = daemon.stop('SIGTERM');
    }
    expect(text).toBe('Hello from the mock upstream, one token');
    expect(await exited).toBe(0);
  });

  it('warns at start about models a USD budget cannot price, and shows every limit in the banner', async () => {
    const cwd = await tempDir();
    await writeFile(
      path.join(cwd, 'hub.config.json'),
      JSON.stringify({
        upstreams: [{ name: 'openai', baseUrl: mock.url, keys: ['${KEY}'], models: ['gpt-4o*', 'gpt-4-32k'] }],
        auth: { forwardKeys: [{ key: TEAM_A, user: 'ann' }] },
        limits: { routes: { '/v1/chat/completions': '100/minute' }, budgets: { users: { '*': { daily: 5 } } } },
      }),
    );
    const daemon = await startDaemon(['--port', '0', '--admin-port', '0'], { cwd, env: { KEY: KEY_1 } });
    daemons.push(daemon);
    await daemon.waitForStderr(/models without a price are refused to callers with a USD budget: gpt-4-32k;/);
    expect(daemon.stderr()).toMatch(/route\s+\/v1\/chat\/completions 100\/minute \(shared by all callers\)/);
    expect(daemon.stderr()).toMatch(/budget\s+user \*: \$5 daily/);
    expect(daemon.stderr()).not.toContain(KEY_1);
  });

  it('takes a pool from one comma-separated variable, and forwards to a baseUrl written with /v1 without doubling it', async () => {
    const cwd = await tempDir();
    await writeFile(
      path.join(cwd, 'hub.config.json'),
      JSON.stringify({
        upstreams: [{ name: 'openai', baseUrl: '${OPENAI_BASE_URL}', keys: ['...${OPENAI_API_KEY}'] }],
        auth: { forwardKeys: [{ key: TEAM_A, user: 'ann' }] },
      }),
    );
    const daemon = await startDaemon(['--port', '0', '--admin-port', '0'], {
      cwd,
      env: { OPENAI_API_KEY: `${KEY_1},${KEY_2}`, OPENAI_BASE_URL: `${mock.url}/v1` },
    });
    daemons.push(daemon);
    expect(daemon.stderr()).toContain('2 pool key(s)');
    const client = new OpenAI({ apiKey: TEAM_A, baseURL: `${daemon.url}/v1`, maxRetries: 0 });
    await client.models.list();
    await client.models.list();
    expect(mock.received.map((request) => request.url)).toEqual(['/v1/models', '/v1/models']);
    expect(new Set(mock.received.map((request) => request.headers.authorization))).toEqual(
      new Set([`Bearer ${KEY_1}`, `Bearer ${KEY_2}`]),
    );
    expect(daemon.stderr()).not.toContain(KEY_1);
  });

  it('says in one line that the port is in use, exit 1', async () => {
    const blocker = net.createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', () => resolve()));
    const port = (blocker.address() as net.AddressInfo).port;
    try {
      const result = await runCli(['run', '--port', String(port)], { cwd: await tempDir() });
      expect(result.code).toBe(1);
      expect(result.stderr).toContain(`cannot listen on 127.0.0.1:${port}: the address is already in use`);
      expect(result.stderr).not.toMatch(/\n\s+at /);
    } finally {
      blocker.close();
    }
  });
});

describe('config errors exit 2 with the file and the field path', () => {
  const cases: [string, string, RegExp][] = [
    ['malformed JSON', '{ "upstreams": [ ', /^aifd: config error: hub\.config\.json: cannot be parsed/],
    [
      'bad URL',
      JSON.stringify({ upstreams: [{ name: 'a', baseUrl: 'not a url' }] }),
      /hub\.config\.json: upstreams\[0\]\.baseUrl: "not a url" is not a URL/,
    ],
    [
      'missing env var',
      JSON.stringify({
        upstreams: [{ name: 'a', baseUrl: 'http://h', keys: ['${MISSING_KEY_VAR}'] }],
        auth: { anonymous: true },
      }),
      /upstreams\[0\]\.keys\[0\]: environment variable MISSING_KEY_VAR is not set/,
    ],
    [
      'unknown field',
      JSON.stringify({ upstreams: [{ name: 'a', baseUrl: 'http://h' }], lisen: {} }),
      /hub\.config\.json: unknown field "lisen"/,
    ],
  ];
  for (const [name, content, expected] of cases) {
    it(name, async () => {
      const cwd = await tempDir();
      await writeFile(path.join(cwd, 'hub.config.json'), content);
      const result = await runCli(['run'], { cwd });
      expect(result.code).toBe(2);
      expect(result.stderr).toMatch(expected);
      expect(result.stderr.trim().split('\n').length).toBeLessThanOrEqual(2);
      expect(result.stderr).not.toMatch(/\n\s+at /);
    });
  }

  it('a missing --config file', async () => {
    const result = await runCli(['run', '--config', 'nope.json'], { cwd: await tempDir() });
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('nope.json: no such file');
  });
});

describe('the command line', () => {
  it('has --help everywhere and --version', async () => {
    for (const args of [
      ['--help'],
      ['run', '--help'],
      ['keys', 'list', '--help'],
      ['token-gen', '--help'],
      ['logs', 'convert', '--help'],
    ]) {
      const result = await runCli(args);
      expect(result.code, args.join(' ')).toBe(0);
      expect(result.stdout).toContain('Usage: aifd');
    }
    const version = await runCli(['--version']);
    expect(version.stdout.trim()).toMatch(/^\d+\.\d+\.\d+$/);
  });

  it('usage errors exit 2', async () => {
    expect((await runCli(['no-such-command'])).code).toBe(2);
    expect((await runCli(['run', '--port', 'eighty'])).code).toBe(2);
  });
});
