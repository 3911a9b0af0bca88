/**
 * Security: a client can never make aifd call another host, and no secret (pool key, JWT secret,
 * forward key, admin token) shows in any output, log, record or store a full session produces.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import OpenAI from 'openai';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { startMockUpstream, type MockUpstream } from '../mock-upstream/mock-upstream.js';
import { startHub, type RunningHub } from '../helpers/hub.js';
import { rawExchange, request } from '../helpers/http.js';
import { runCli, startDaemon } from '../helpers/cli.js';
import { signToken } from '../../src/auth/tokens.js';

describe('a client cannot make aifd call another host', () => {
  let upstream: MockUpstream;
  let evil: MockUpstream;
  let running: RunningHub;

  beforeAll(async () => {
    [upstream, evil] = await Promise.all([startMockUpstream(), startMockUpstream()]);
    running = await startHub({
      upstreams: [
        { name: 'openai', baseUrl: upstream.url, keys: ['sk-security-pool-key-0000000000000000'] },
        { name: 'local', route: '/local', baseUrl: `${upstream.url}/v1` },
      ],
      auth: { anonymous: true },
    });
  });
  afterAll(async () => {
    await running.close();
    await Promise.all([upstream.close(), evil.close()]);
  });

  it('ignores Host, absolute-form targets, forwarding headers, and @, //, \\ or encoded tricks in the path', async () => {
    const port = Number(new URL(running.url).port);
    const target = `127.0.0.1:${evil.port}`;
    const attempts = [
      `GET /v1/models HTTP/1.1\r\nHost: ${target}\r\nConnection: close\r\n\r\n`,
      `GET http://${target}/v1/models HTTP/1.1\r\nHost: ${target}\r\nConnection: close\r\n\r\n`,
      `GET /v1/models HTTP/1.1\r\nHost: x\r\nX-Forwarded-Host: ${target}\r\nForwarded: host=${target}\r\nX-Forwarded-Proto: http\r\nConnection: close\r\n\r\n`,
      `GET /@${target}/v1/models HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`,
      `GET //${target}/v1/models HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`,
      `GET /\\\\${target}/v1/models HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`,
      `GET /%2F%2F${target}/v1/models HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`,
      `GET /local/..%2F..%2F${target}/models HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`,
      `GET /local/@${target}/models HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`,
      `GET /local/%40${target}/models HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`,
      `GET /v1/models/..%2f..%2f..%2f HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`,
      `CONNECT ${target} HTTP/1.1\r\nHost: ${target}\r\n\r\n`,
    ];
    for (const attempt of attempts) {
      const answer = await rawExchange(port, attempt);
      expect(answer, attempt).toMatch(/^HTTP\/1.1 \d{3}/);
    }
    expect(evil.received).toHaveLength(0);
    // Whatever reached an upstream reached ours, on its own host.
    for (const received of upstream.received) expect(received.headers.host).toBe(`127.0.0.1:${upstream.port}`);
  });
});

describe('no secret in any output, log, record or store', () => {
  const POOL_KEYS = ['sk-scan-pool-key-one-Aq81hH2KdL0ppZZ', 'sk-scan-pool-key-two-Bw90jJ3MeM1qqYY'];
  const FORWARD_KEY = 'fk-scan-forward-key-Cv77kK4NfN2rrXX';
  const JWT_SECRET = 'scan-jwt-secret-at-least-32-bytes-long-Dd55';
  const ADMIN_TOKEN = 'scan-admin-token-Ee66mM7PhP4ttWW';
  const SECRETS = [...POOL_KEYS, FORWARD_KEY, JWT_SECRET, ADMIN_TOKEN];
  let mock: MockUpstream;
  let dir: string;

  beforeAll(async () => {
    mock = await startMockUpstream();
    dir = await mkdtemp(path.join(os.tmpdir(), 'aifd-scan-'));
  });
  afterAll(async () => {
    await mock.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('after a session that uses every feature that writes something', async () => {
    const env = {
      POOL_1: POOL_KEYS[0]!,
      POOL_2: POOL_KEYS[1]!,
      FORWARD: FORWARD_KEY,
      JWT: JWT_SECRET,
      ADMIN: ADMIN_TOKEN,
    };
    const config = {
      store: 'sqlite://./state.sqlite',
      upstreams: [
        { name: 'openai', baseUrl: mock.url, keys: ['${POOL_1}', { key: '${POOL_2}', name: 'second' }], retries: 2 },
      ],
      auth: { jwt: { secret: '${JWT}' }, forwardKeys: [{ key: '${FORWARD}', user: 'ann', roles: ['dev'] }] },
      acl: { default: 'allow', rules: [{ users: ['ann'], models: ['o1*'], effect: 'deny' }] },
      limits: { user: { requests: '1000/hour', tokens: '1000000/day' }, budgets: { users: { '*': { daily: 100 } } } },
      cache: { chatCompletions: true },
      logs: { dir: './logs', chat: true, level: 'debug' },
      admin: { port: 0, token: '${ADMIN}' },
    };
    await writeFile(path.join(dir, 'hub.config.json'), JSON.stringify(config));
    const outputs: string[] = [];
    const daemon = await startDaemon(['--config', 'hub.config.json', '--port', '0', '--admin-port', '0'], {
      cwd: dir,
      env,
    });
    const runtime = JSON.parse(
      await readFile(path.join(dir, 'aifd-data', 'daemon.json'), 'utf8').catch(() =>
        readFile(path.join(dir, 'daemon.json'), 'utf8'),
      ),
    ) as { adminUrl: string };

    // Traffic: answers, streams, cache hits, a revoked key (the upstream's 401 names part of it), refusals.
    mock.options.validKeys = new Set([POOL_KEYS[1]!]);
    const sdk = new OpenAI({ apiKey: FORWARD_KEY, baseURL: `${daemon.url}/v1`, maxRetries: 0 });
    for (let i = 0; i < 3; i++)
      await sdk.chat.completions.create({
        model: 'gpt-4o-mini',
        messages: [{ role: 'user', content: 'same question' }],
      });
    const stream = await sdk.chat.completions.create({
      model: 'gpt-4o-mini',
      messages: [{ role: 'user', content: 'stream' }],
      stream: true,
    });
    for await (const _ of stream) void _;
    await sdk.embeddings.create({ model: 'text-embedding-3-small', input: 'x' });
    await sdk.chat.completions
      .create({ model: 'o1-mini', messages: [] })
      .catch((err: Error) => outputs.push(err.message));
    const jwt = await signToken(
      {
        secret: JWT_SECRET,
        algorithm: 'HS256',
        issuer: 'aifd',
        audience: 'aifd',
        clockTolerance: 30_000,
        defaultExpires: '1d',
      },
      { user: 'bob', roles: [], models: [], paths: [], expiresInSec: 3600 },
    );
    await new OpenAI({ apiKey: jwt.token, baseURL: `${daemon.url}/v1`, maxRetries: 0 }).models.list();
    for (const wrong of [`${FORWARD_KEY}x`, FORWARD_KEY.slice(0, -1), `${jwt.token.slice(0, -4)}AAAA`, POOL_KEYS[0]!]) {
      const answer = await request(`${daemon.url}/v1/models`, { headers: { authorization: `Bearer ${wrong}` } });
      outputs.push(answer.body.toString(), JSON.stringify(answer.headers));
    }
    const bad = await request(`${daemon.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${FORWARD_KEY}`, 'content-type': 'application/json' },
      body: '{"model": 5}',
    });
    outputs.push(bad.body.toString());
    expect(mock.received.some((received) => received.key === POOL_KEYS[0])).toBe(true); // the revoked key was really used upstream

    // Everything an operator looks at.
    const admin = (pathname: string) =>
      request(`${runtime.adminUrl}${pathname}`, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } }).then(
        (answer) => answer.body.toString(),
      );
    outputs.push(await admin('/state'), await admin('/metrics'), await admin('/cache'));
    outputs.push(
      (
        await request(`${runtime.adminUrl}/keys/check`, {
          method: 'POST',
          headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
        })
      ).body.toString(),
    );
    for (const args of [
      ['keys', 'list'],
      ['keys', 'list', '--json'],
      ['keys', 'check'],
      ['usage'],
      ['usage', '--by', 'key', '--json'],
      ['cache', 'stats'],
      ['logs', 'convert', '--output', 'converted.json'],
    ]) {
      const result = await runCli([...args, '--config', 'hub.config.json'], { cwd: dir, env });
      outputs.push(result.stdout, result.stderr);
    }
    expect(await daemon.stop('SIGTERM')).toBe(0);
    outputs.push(daemon.stdout(), daemon.stderr());
    outputs.push(
      ...mock.received
        .filter((received) => received.url.startsWith('/v1/chat'))
        .map((received) => received.body.toString()),
    );

    const files = (await readdir(dir, { recursive: true, withFileTypes: true })).filter(
      (entry) => entry.isFile() && entry.name !== 'hub.config.json',
    );
    expect(files.length).toBeGreaterThan(5); // logs, chat log, converted export, SQLite store and sink
    const leaks: string[] = [];
    for (const secret of SECRETS) {
      for (const [index, output] of outputs.entries())
        if (output.includes(secret)) leaks.push(`${secret} in output ${index}`);
      for (const file of files) {
        const bytes = await readFile(path.join(file.parentPath, file.name));
        if (bytes.includes(secret)) leaks.push(`${secret} in ${file.name}`);
      }
    }
    expect(leaks).toEqual([]);
  });
});
