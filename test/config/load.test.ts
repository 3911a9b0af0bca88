import { afterEach, describe, expect, it } from 'vitest';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { ConfigError, loadConfig } from '../../src/config/load.js';
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

async function configError(promise: Promise<unknown>): Promise<ConfigError> {
  const error = await promise.then(() => undefined, (err: unknown) => err);
  expect(error).toBeInstanceOf(ConfigError);
  return error as ConfigError;
}

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

  it('keeps hub.config.schema.json in step with the schema', async () => {
    const committed = JSON.parse(await readFile('hub.config.schema.json', 'utf8')) as unknown;
    expect(committed).toEqual(JSON.parse(JSON.stringify(configJsonSchema())));
  });

  it('finds hub.config.json in the working directory and applies defaults', async () => {
    const dir = await withFile('hub.config.json', JSON.stringify({ upstreams: [{ name: 'x', baseUrl: 'http://127.0.0.1:9' }] }));
    const { config, file } = await loadConfig({ cwd: dir, env: {} });
    expect(file).toBe(path.join(dir, 'hub.config.json'));
    expect(config.listen).toMatchObject({ host: '127.0.0.1', port: 8000 });
    expect(config.upstreams[0]).toMatchObject({ route: '/', keys: [], retries: 2 });
    expect(config.store).toBe(`sqlite://${path.join(dir, 'aifd-data/state.sqlite')}`);
  });

  it('finds .aifdrc.yaml and the "aifd" field of package.json', async () => {
    const yamlDir = await withFile('.aifdrc.yaml', 'upstreams:\n  - name: y\n    baseUrl: http://127.0.0.1:9\n');
    expect((await loadConfig({ cwd: yamlDir, env: {} })).config.upstreams[0]!.name).toBe('y');
    const pkgDir = await withFile('package.json', JSON.stringify({ name: 'p', aifd: { upstreams: [{ name: 'p', baseUrl: 'http://127.0.0.1:9' }] } }));
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
    const dir = await withFile('custom.json', JSON.stringify({ listen: { port: 9100 }, upstreams: [{ name: 'c', baseUrl: 'http://127.0.0.1:9' }] }));
    const viaEnv = await loadConfig({ cwd: dir, env: { AIFD_CONFIG: 'custom.json' } });
    expect(viaEnv.config.listen.port).toBe(9100);
    const overridden = await loadConfig({ cwd: dir, configPath: 'custom.json', env: {}, overrides: { port: 9200, host: '0.0.0.0' } });
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
    const dir = await withFile('hub.config.json', JSON.stringify({ upstreams: [{ name: 'a', baseUrl: 'http://127.0.0.1:9' }, { name: 'b', route: '/b', baseUrl: 'ftp://nope' }] }));
    const error = await configError(loadConfig({ cwd: dir, env: {} }));
    expect(error.fieldPath).toBe('upstreams[1].baseUrl');
    expect(error.problem).toContain('http://');
  });

  it('names a missing environment variable and where it is used', async () => {
    const dir = await withFile('hub.config.json', JSON.stringify({ upstreams: [{ name: 'a', baseUrl: 'http://127.0.0.1:9', keys: ['${KEY_ONE}', '${KEY_TWO}'] }], auth: { anonymous: true } }));
    const error = await configError(loadConfig({ cwd: dir, env: { KEY_ONE: 'sk-1' } }));
    expect(error.fieldPath).toBe('upstreams[0].keys[1]');
    expect(error.problem).toBe('environment variable KEY_TWO is not set');
  });

  it('names unknown fields (typos)', async () => {
    const dir = await withFile('hub.config.json', JSON.stringify({ upstreams: [{ name: 'a', baseUrl: 'http://127.0.0.1:9', retires: 3 }] }));
    const error = await configError(loadConfig({ cwd: dir, env: {} }));
    expect(error.fieldPath).toBe('upstreams[0]');
    expect(error.problem).toContain('unknown field "retires"');
  });

  it('refuses a key pool without an auth section', async () => {
    const dir = await withFile('hub.config.json', JSON.stringify({ upstreams: [{ name: 'a', baseUrl: 'http://127.0.0.1:9', keys: ['sk-secret-never-shown-1234'] }] }));
    const error = await configError(loadConfig({ cwd: dir, env: {} }));
    expect(error.fieldPath).toBe('auth');
    expect(error.message).not.toContain('sk-secret-never-shown-1234');
  });

  it('checks durations, sizes, rates and duplicate routes', async () => {
    const cases: [unknown, string][] = [
      [{ upstreams: [{ name: 'a', baseUrl: 'http://h' }], listen: { maxBodySize: 'lots' } }, 'listen.maxBodySize'],
      [{ upstreams: [{ name: 'a', baseUrl: 'http://h' }], cache: { ttl: 'forever' } }, 'cache.ttl'],
      [{ upstreams: [{ name: 'a', baseUrl: 'http://h' }], limits: { global: '10 per minute' } }, 'limits.global'],
      [{ upstreams: [{ name: 'a', baseUrl: 'http://h' }, { name: 'b', baseUrl: 'http://h' }] }, 'upstreams[1].route'],
      [{ upstreams: [{ name: 'a', baseUrl: 'http://h', route: 'no-slash' }] }, 'upstreams[0].route'],
      [{ upstreams: [] }, 'upstreams'],
      // a timer longer than 2^31-1 ms would fire at once
      [{ upstreams: [{ name: 'a', baseUrl: 'http://h', queue: { maxWait: '30d' } }] }, 'upstreams[0].queue.maxWait'],
      [{ upstreams: [{ name: 'a', baseUrl: 'http://h', timeouts: { idleMs: 3_000_000_000 } }] }, 'upstreams[0].timeouts.idleMs'],
      [{ upstreams: [{ name: 'a', baseUrl: 'http://h' }], listen: { shutdownGrace: '25d' } }, 'listen.shutdownGrace'],
    ];
    for (const [raw, fieldPath] of cases) {
      const dir = await withFile('hub.config.json', JSON.stringify(raw));
      const error = await configError(loadConfig({ cwd: dir, env: {} }));
      expect(error.fieldPath).toBe(fieldPath);
    }
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
