import { afterEach, describe, expect, it } from 'vitest';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { loadConfig } from '../../src/config/load.js';
import { configError } from '../helpers/config.js';
import { configReference } from '../../src/config/reference.js';
import { configJsonSchema } from '../../src/config/json-schema.js';
import { parseRateString } from '../../src/config/rate-string.js';

const dirs: string[] = [];
async function withFile(name: string, content: string): Promise<string> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'aifd-config-'));
  dirs.push(dir);
  await writeFile(path.join(dir, name), content);
  return dir;
}
afterEach(async () => {
  await Promise.all(dirs.splice(0).map((dir) => rm(dir, { recursive: true, force: true })));
});

const EXAMPLE_ENV = {
  OPENAI_KEY_1: 'sk-example-one-aaaaaaaaaaaaaaaaaaaa',
  OPENAI_KEY_2: 'sk-example-two-bbbbbbbbbbbbbbbbbbbb',
  AIFD_JWT_SECRET: 'x'.repeat(32),
  TEAM_A_KEY: 'team-a-forward-key-cccccccccccc',
  AIFD_ADMIN_TOKEN: 'admin-token-dddddddddddddddd',
};

describe('loadConfig', () => {
  it('loads hub.config.example.json with every field, keys from env', async () => {
    const example = path.resolve('hub.config.example.json');
    const { config, file } = await loadConfig({ configPath: example, env: EXAMPLE_ENV });
    expect(file).toBe(example);
    expect(config.upstreams[0]!.baseUrl).toBe('https://api.openai.com');
    expect(config.upstreams[0]!.keys[0]).toBe(EXAMPLE_ENV.OPENAI_KEY_1);
    expect(config.limits?.user?.requests).toBe('60/minute;600/hour');
    expect(config.listen.maxBodySize).toBe(25 * 1024 * 1024);
    expect(config.cache.ttl).toBe(3_600_000);
    expect(path.isAbsolute(config.logs.dir)).toBe(true);
    expect(Object.isFrozen(config.upstreams[0])).toBe(true);
  });

  it('keeps docs/config.md in step with the schema, every field described', async () => {
    const committed = await readFile('docs/config.md', 'utf8');
    expect(committed).toBe(configReference());
    const undescribed = committed.split('\n').filter((line) => line.startsWith('| `') && line.endsWith('|  |'));
    expect(undescribed).toEqual([]);
  });

  it('keeps hub.config.schema.json in step with the schema', async () => {
    const committed = JSON.parse(await readFile('hub.config.schema.json', 'utf8')) as unknown;
    expect(committed).toEqual(JSON.parse(JSON.stringify(configJsonSchema())));
  });

  it('finds hub.config.json in the working directory and applies defaults', async () => {
    const dir = await withFile(
      'hub.config.json',
      JSON.stringify({ upstreams: [{ name: 'x', baseUrl: 'http://127.0.0.1:9' }] }),
    );
    const { config, file } = await loadConfig({ cwd: dir, env: {} });
    expect(file).toBe(path.join(dir, 'hub.config.json'));
    expect(config.listen).toMatchObject({ host: '127.0.0.1', port: 8000 });
    expect(config.upstreams[0]).toMatchObject({ route: '/', keys: [], retries: 2 });
    expect(config.store).toBe(`sqlite://${path.join(dir, 'aifd-data/state.sqlite')}`);
  });

  it('finds .aifdrc.yaml and the "aifd" field of package.json', async () => {
    const yamlDir = await withFile('.aifdrc.yaml', 'upstreams:\n  - name: y\n    baseUrl: http://127.0.0.1:9\n');
    expect((await loadConfig({ cwd: yamlDir, env: {} })).config.upstreams[0]!.name).toBe('y');
    const pkgDir = await withFile(
      'package.json',
      JSON.stringify({ name: 'p', aifd: { upstreams: [{ name: 'p', baseUrl: 'http://127.0.0.1:9' }] } }),
    );
    expect((await loadConfig({ cwd: pkgDir, env: {} })).config.upstreams[0]!.name).toBe('p');
  });

  it('runs on defaults without a file: pass-through to OpenAI or OPENAI_BASE_URL', async () => {
    const dir = await withFile('unrelated.txt', '');
    const plain = await loadConfig({ cwd: dir, env: {} });
    expect(plain.file).toBeUndefined();
    expect(plain.config.upstreams).toHaveLength(1);
    expect(plain.config.upstreams[0]).toMatchObject({ baseUrl: 'https://api.openai.com', keys: [], route: '/' });
    const custom = await loadConfig({ cwd: dir, env: { OPENAI_BASE_URL: 'http://127.0.0.1:5555/v1/' } });
    expect(custom.config.upstreams[0]!.baseUrl).toBe('http://127.0.0.1:5555');
  });

  it('lets --config, AIFD_CONFIG and CLI flags choose', async () => {
    const dir = await withFile(
      'custom.json',
      JSON.stringify({ listen: { port: 9100 }, upstreams: [{ name: 'c', baseUrl: 'http://127.0.0.1:9' }] }),
    );
    const viaEnv = await loadConfig({ cwd: dir, env: { AIFD_CONFIG: 'custom.json' } });
    expect(viaEnv.config.listen.port).toBe(9100);
    const overridden = await loadConfig({
      cwd: dir,
      configPath: 'custom.json',
      env: {},
      overrides: { port: 9200, host: '0.0.0.0' },
    });
    expect(overridden.config.listen).toMatchObject({ port: 9200, host: '0.0.0.0' });
  });

  it('names the file for malformed JSON', async () => {
    const dir = await withFile('hub.config.json', '{ "upstreams": [ }');
    const error = await configError(loadConfig({ cwd: dir, env: {} }));
    expect(error.file).toBe('hub.config.json');
    expect(error.message).toMatch(/^hub\.config\.json: cannot be parsed/);
    expect(error.message.split('\n').length).toBeLessThanOrEqual(2);
  });

  it('names the field path of a bad URL', async () => {
    const dir = await withFile(
      'hub.config.json',
      JSON.stringify({
        upstreams: [
          { name: 'a', baseUrl: 'http://127.0.0.1:9' },
          { name: 'b', route: '/b', baseUrl: 'ftp://nope' },
        ],
      }),
    );
    const error = await configError(loadConfig({ cwd: dir, env: {} }));
    expect(error.fieldPath).toBe('upstreams[1].baseUrl');
    expect(error.problem).toContain('http://');
  });

  it('names a missing environment variable and where it is used', async () => {
    const dir = await withFile(
      'hub.config.json',
      JSON.stringify({
        upstreams: [{ name: 'a', baseUrl: 'http://127.0.0.1:9', keys: ['${KEY_ONE}', '${KEY_TWO}'] }],
        auth: { anonymous: true },
      }),
    );
    const error = await configError(loadConfig({ cwd: dir, env: { KEY_ONE: 'sk-1' } }));
    expect(error.fieldPath).toBe('upstreams[0].keys[1]');
    expect(error.problem).toBe('environment variable KEY_TWO is not set');
  });

  it('names unknown fields (typos)', async () => {
    const dir = await withFile(
      'hub.config.json',
      JSON.stringify({ upstreams: [{ name: 'a', baseUrl: 'http://127.0.0.1:9', retires: 3 }] }),
    );
    const error = await configError(loadConfig({ cwd: dir, env: {} }));
    expect(error.fieldPath).toBe('upstreams[0]');
    expect(error.problem).toContain('unknown field "retires"');
  });

  it('refuses a key pool without an auth section', async () => {
    const dir = await withFile(
      'hub.config.json',
      JSON.stringify({
        upstreams: [{ name: 'a', baseUrl: 'http://127.0.0.1:9', keys: ['sk-secret-never-shown-1234'] }],
      }),
    );
    const error = await configError(loadConfig({ cwd: dir, env: {} }));
    expect(error.fieldPath).toBe('auth');
    expect(error.message).not.toContain('sk-secret-never-shown-1234');
  });

  it('checks durations, sizes, rates and duplicate routes', async () => {
    const cases: [unknown, string][] = [
      [{ upstreams: [{ name: 'a', baseUrl: 'http://h' }], listen: { maxBodySize: 'lots' } }, 'listen.maxBodySize'],
      [{ upstreams: [{ name: 'a', baseUrl: 'http://h' }], cache: { ttl: 'forever' } }, 'cache.ttl'],
      [{ upstreams: [{ name: 'a', baseUrl: 'http://h' }], limits: { global: '10 per minute' } }, 'limits.global'],
      [
        {
          upstreams: [
            { name: 'a', baseUrl: 'http://h' },
            { name: 'b', baseUrl: 'http://h' },
          ],
        },
        'upstreams[1].route',
      ],
      [{ upstreams: [{ name: 'a', baseUrl: 'http://h', route: 'no-slash' }] }, 'upstreams[0].route'],
      [{ upstreams: [] }, 'upstreams'],
      // a timer longer than 2^31-1 ms would fire at once
      [{ upstreams: [{ name: 'a', baseUrl: 'http://h', queue: { maxWait: '30d' } }] }, 'upstreams[0].queue.maxWait'],
      [
        { upstreams: [{ name: 'a', baseUrl: 'http://h', timeouts: { idleMs: 3_000_000_000 } }] },
        'upstreams[0].timeouts.idleMs',
      ],
      [{ upstreams: [{ name: 'a', baseUrl: 'http://h' }], listen: { shutdownGrace: '25d' } }, 'listen.shutdownGrace'],
    ];
    for (const [raw, fieldPath] of cases) {
      const dir = await withFile('hub.config.json', JSON.stringify(raw));
      const error = await configError(loadConfig({ cwd: dir, env: {} }));
      expect(error.fieldPath).toBe(fieldPath);
    }
  });
});

describe('values from the environment', () => {
  const write = (config: unknown) => withFile('hub.config.json', JSON.stringify(config));

  it('spreads a comma-separated variable into a list with "...${NAME}", and refuses a key with a comma or white space', async () => {
    const dir = await write({
      upstreams: [{ name: 'a', baseUrl: 'http://h', keys: ['...${OPENAI_API_KEY}', 'sk-third'] }],
      auth: { anonymous: true },
    });
    const { config } = await loadConfig({ cwd: dir, env: { OPENAI_API_KEY: 'sk-first, sk-second,' } });
    expect(config.upstreams[0]!.keys).toEqual(['sk-first', 'sk-second', 'sk-third']);
    const plain = await write({
      upstreams: [{ name: 'a', baseUrl: 'http://h', keys: ['${OPENAI_API_KEY}'] }],
      auth: { anonymous: true },
    });
    const comma = await configError(
      loadConfig({ cwd: plain, env: { OPENAI_API_KEY: 'sk-secret-first,sk-secret-second' } }),
    );
    expect(comma.fieldPath).toBe('upstreams[0].keys[0]');
    expect(comma.problem).toContain('"...${NAME}"');
    expect(comma.message).not.toContain('sk-secret');
    const space = await configError(
      loadConfig({ cwd: plain, env: { OPENAI_API_KEY: 'sk-secret-first sk-secret-second' } }),
    );
    expect(space.problem).toContain('white space');
    expect(space.message).not.toContain('sk-secret');
    const missing = await configError(loadConfig({ cwd: dir, env: {} }));
    expect(missing.problem).toBe('environment variable OPENAI_API_KEY is not set');
  });

  it('refuses the same pool key listed twice in one upstream, naming both places', async () => {
    const dir = await write({
      upstreams: [
        {
          name: 'a',
          baseUrl: 'http://h',
          keys: ['sk-one-secret', { key: 'sk-two-secret' }, { key: 'sk-one-secret', weight: 2 }],
        },
      ],
      auth: { anonymous: true },
    });
    const error = await configError(loadConfig({ cwd: dir, env: {} }));
    expect(error.fieldPath).toBe('upstreams[0].keys[2]');
    expect(error.problem).toContain('the same key as keys[0]');
    expect(error.message).not.toContain('sk-one-secret');
    // one key in two upstreams is two pools, and allowed
    const two = await write({
      upstreams: [
        { name: 'a', baseUrl: 'http://h', keys: ['sk-one'] },
        { name: 'b', route: '/b', baseUrl: 'http://h', keys: ['sk-one'] },
      ],
      auth: { anonymous: true },
    });
    expect((await loadConfig({ cwd: two, env: {} })).config.upstreams).toHaveLength(2);
  });

  it('drops a trailing /v1 of baseUrl by one rule, with a config file and without', async () => {
    for (const [written, kept] of [
      ['http://127.0.0.1:9101/v1', 'http://127.0.0.1:9101'],
      ['http://127.0.0.1:9101/v1/', 'http://127.0.0.1:9101'],
      ['https://openrouter.ai/api/v1', 'https://openrouter.ai/api'],
      ['https://team.openai.azure.com/openai', 'https://team.openai.azure.com/openai'],
      ['http://127.0.0.1:9101/v1beta', 'http://127.0.0.1:9101/v1beta'],
    ]) {
      const withFile_ = await write({
        upstreams: [{ name: 'a', baseUrl: '${OPENAI_BASE_URL:-https://api.openai.com}' }],
      });
      expect(
        (await loadConfig({ cwd: withFile_, env: { OPENAI_BASE_URL: written } })).config.upstreams[0]!.baseUrl,
      ).toBe(kept);
      const without = await withFile('unrelated.txt', '');
      expect((await loadConfig({ cwd: without, env: { OPENAI_BASE_URL: written } })).config.upstreams[0]!.baseUrl).toBe(
        kept,
      );
    }
  });

  it('reads booleans and numbers from variables where the schema wants them, and names a value that is neither', async () => {
    const dir = await write({
      listen: { port: '${PORT}', trustProxy: '${HOPS:-0}' },
      logs: { chat: '${LOG_CHAT}', access: '${LOG_ACCESS:-true}' },
      cache: { chatCompletions: '${CACHE_CHAT_COMPLETION:-false}' },
      upstreams: [{ name: 'a', baseUrl: 'http://h', retries: '${RETRIES}', injectStreamUsage: '${INJECT:-true}' }],
    });
    const { config } = await loadConfig({ cwd: dir, env: { PORT: '9100', LOG_CHAT: 'true', RETRIES: '4', HOPS: '1' } });
    expect(config.listen.port).toBe(9100);
    expect(config.listen.trustProxy).toBe(1);
    expect(config.logs.chat).toBe(true);
    expect(config.logs.access).toBe(true);
    expect(config.cache.chatCompletions).toBe(false);
    expect(config.upstreams[0]).toMatchObject({ retries: 4, injectStreamUsage: true });
    const bad = await configError(loadConfig({ cwd: dir, env: { PORT: '9100', LOG_CHAT: 'maybe', RETRIES: '4' } }));
    expect(bad.fieldPath).toBe('logs.chat');
    expect(bad.problem).toBe('"maybe" (from the environment) is not a boolean (true or false)');
    const badNumber = await configError(
      loadConfig({ cwd: dir, env: { PORT: 'eighty', LOG_CHAT: 'true', RETRIES: '4' } }),
    );
    expect(badNumber.fieldPath).toBe('listen.port');
    expect(badNumber.problem).toContain('is not a number');
    const outOfRange = await configError(
      loadConfig({ cwd: dir, env: { PORT: '9100', LOG_CHAT: 'true', RETRIES: '40' } }),
    );
    expect(outOfRange.fieldPath).toBe('upstreams[0].retries');
    // a literal string in the file is still an error: only values from variables are read this way
    const literal = await write({ upstreams: [{ name: 'a', baseUrl: 'http://h' }], logs: { chat: 'true' } });
    expect((await configError(loadConfig({ cwd: literal, env: {} }))).fieldPath).toBe('logs.chat');
  });
});

describe('parseRateString', () => {
  it('reads single and joined windows', () => {
    expect(parseRateString('60/minute')).toEqual([{ points: 60, durationMs: 60_000, text: '60/minute' }]);
    expect(parseRateString('60/minute;600/hour').map((w) => w.durationMs)).toEqual([60_000, 3_600_000]);
    expect(parseRateString('100/2minutes')[0]).toMatchObject({ points: 100, durationMs: 120_000 });
    expect(parseRateString('5/second')[0]!.durationMs).toBe(1000);
    expect(parseRateString('3/week')[0]!.durationMs).toBe(7 * 86_400_000);
    expect(parseRateString('3/month;10/2months').map((w) => w.durationMs)).toEqual([30 * 86_400_000, 60 * 86_400_000]);
  });
  it('rejects what is not a rate', () => {
    for (const bad of ['', '60', '60/fortnight', '-1/minute', '0/minute', 'ten/minute']) {
      expect(() => parseRateString(bad)).toThrow();
    }
  });
});
