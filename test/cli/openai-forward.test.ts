/**
 * A user of openai-forward moves in: `aifd run` in a directory holding nothing but their `.env`,
 * and clients get what openai-forward documents for it, end to end against the mock upstream.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import OpenAI from 'openai';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { startMockUpstream, type MockUpstream } from '../mock-upstream/mock-upstream.js';
import { startDaemon, type RunningDaemon } from '../helpers/cli.js';
import { request } from '../helpers/http.js';

const POOL = ['sk-of-pool-key-one-0000000000000', 'sk-of-pool-key-two-0000000000000'];
const FORWARD = ['fk-of-alice-00000000', 'fk-of-bob-0000000000'];

let openai: MockUpstream;
let localai: MockUpstream;
let extra: MockUpstream;
let dir: string;
let daemon: RunningDaemon;

beforeAll(async () => {
  [openai, localai, extra] = await Promise.all([startMockUpstream(), startMockUpstream(), startMockUpstream()]);
  dir = await mkdtemp(path.join(os.tmpdir(), 'aifd-moving-in-'));
  await writeFile(
    path.join(dir, '.env'),
    [
      "# as in openai-forward's .env.example",
      'LOG_CHAT=true',
      `OPENAI_BASE_URL='${openai.url}, ${localai.url}/v1'`,
      "OPENAI_ROUTE_PREFIX='/openai, /localai'",
      `OPENAI_API_KEY='${POOL.join(', ')}'`,
      `FORWARD_KEY=${FORWARD.join(',')}`,
      `EXTRA_BASE_URL='${extra.url}'`,
      "EXTRA_ROUTE_PREFIX='/tts'",
      "REQ_RATE_LIMIT='{",
      '"/openai/v1/chat/completions": "2/minute",',
      '"/localai/v1/chat/completions": "5/minute"',
      "}'",
      'GLOBAL_RATE_LIMIT=100/minute',
      'RATE_LIMIT_STRATEGY=fixed-window',
      'TOKEN_RATE_LIMIT={"/v1/chat/completions":"200/second"}',
      'CACHE_CHAT_COMPLETION=true',
      'CACHE_BACKEND=MEMORY',
      '',
    ].join('\n'),
  );
  daemon = await startDaemon(['--port', '0', '--admin-port', '0'], { cwd: dir });
});
afterAll(async () => {
  await daemon?.stop('SIGKILL');
  await Promise.all([openai, localai, extra].map((mock) => mock?.close()));
  await rm(dir, { recursive: true, force: true });
});

const client = (route: string, key = FORWARD[0]!) =>
  new OpenAI({ apiKey: key, baseURL: `${daemon.url}${route}/v1`, maxRetries: 0 });
const statusOf = (call: Promise<unknown>) =>
  call.then(
    () => 200,
    (err: InstanceType<typeof OpenAI.APIError>) => err.status,
  );

describe('aifd run with nothing but an openai-forward .env', () => {
  it('says in the banner what it read, without a secret', () => {
    const banner = daemon.stderr();
    expect(banner).toMatch(
      /config\s+openai-forward variables: OPENAI_BASE_URL, OPENAI_ROUTE_PREFIX, OPENAI_API_KEY, FORWARD_KEY/,
    );
    expect(banner).toContain('.env');
    expect(banner).toMatch(/\/openai\s+→ openai/);
    expect(banner).toMatch(/\/tts\s+→ tts .*pass-through/);
    expect(banner).toMatch(/route\s+\/openai\/v1\/chat\/completions 2\/minute per user/);
    for (const secret of [...POOL, ...FORWARD]) expect(banner).not.toContain(secret);
  });

  it('takes a forward key, spends the pool, and refuses anyone else', async () => {
    const answer = await client('/openai').chat.completions.create({
      model: 'gpt-4o-mini',
      messages: [{ role: 'user', content: 'hello from openai-forward' }],
    });
    expect(answer.object).toBe('chat.completion');
    expect(POOL.map((key) => `Bearer ${key}`)).toContain(openai.received.at(-1)!.headers.authorization);
    expect(
      (await request(`${daemon.url}/openai/v1/models`, { headers: { authorization: 'Bearer fk-unknown' } })).status,
    ).toBe(401);
  });

  it('limits each user per route as REQ_RATE_LIMIT says', async () => {
    const ask = (route: string, key?: string) =>
      statusOf(
        client(route, key).chat.completions.create({
          model: 'gpt-4o-mini',
          messages: [{ role: 'user', content: `limit ${Math.random()}` }],
        }),
      );
    // alice used one of her two already
    expect([await ask('/openai'), await ask('/openai')]).toEqual([200, 429]);
    expect(await ask('/openai', FORWARD[1])).toBe(200);
    expect(await ask('/localai')).toBe(200);
    expect(localai.received.at(-1)!.url).toBe('/v1/chat/completions');
  });

  it('caches chat completions (CACHE_CHAT_COMPLETION)', async () => {
    const ask = () =>
      client('/localai', FORWARD[1])
        .chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'same question' }] })
        .withResponse();
    await ask();
    const again = await ask();
    expect(again.response.headers.get('x-aifd-cache')).toBe('hit');
  });

  it('forwards EXTRA_BASE_URL routes as they are, without a pool key (aifd still asks for a forward key)', async () => {
    const speech = {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'tts-1', input: 'hi', voice: 'alloy' }),
    };
    const response = await request(`${daemon.url}/tts/v1/audio/speech`, {
      ...speech,
      headers: { ...speech.headers, authorization: `Bearer ${FORWARD[0]}` },
    });
    expect(response.status).toBeLessThan(500);
    expect(extra.received.at(-1)!.url).toBe('/v1/audio/speech');
    expect(POOL.map((key) => `Bearer ${key}`)).not.toContain(extra.received.at(-1)!.headers.authorization);
    expect((await request(`${daemon.url}/tts/v1/audio/speech`, speech)).status).toBe(401);
  });

  it('has logged the chats (LOG_CHAT) when it stops', async () => {
    expect(await daemon.stop('SIGTERM')).toBe(0);
    const logs = path.join(dir, 'aifd-logs');
    const chat = (await readdir(logs)).find((name) => name.startsWith('chat-'))!;
    const lines = (await readFile(path.join(logs, chat), 'utf8'))
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line));
    expect(lines.some((line) => JSON.stringify(line.messages).includes('hello from openai-forward'))).toBe(true);
  });
});
