import { afterEach, describe, expect, it } from 'vitest';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { loadConfig } from '../../src/config/load.js';
import { configError } from '../helpers/config.js';

const dirs: string[] = [];
async function dirWith(files: Record<string, string>): Promise<string> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'aifd-openai-forward-'));
  dirs.push(dir);
  for (const [name, content] of Object.entries(files)) await writeFile(path.join(dir, name), content);
  return dir;
}
afterEach(async () => {
  await Promise.all(dirs.splice(0).map((dir) => rm(dir, { recursive: true, force: true })));
});

describe("openai-forward's variables", () => {
  it('become a config when no config file is found', async () => {
    const dir = await dirWith({});
    const env = {
      OPENAI_BASE_URL: 'https://api.openai.com, http://localhost:8080/v1',
      OPENAI_ROUTE_PREFIX: '/openai, /localai',
      OPENAI_API_KEY: 'sk-secret-1, sk-secret-2',
      FORWARD_KEY: 'fk-one,fk-two',
      EXTRA_BASE_URL: 'http://localhost:8882',
      EXTRA_ROUTE_PREFIX: '/tts',
      REQ_RATE_LIMIT: '{\n"/openai/v1/chat/completions": "1/10seconds",\n"/v1/embeddings": "2/second"\n}',
      GLOBAL_RATE_LIMIT: '2/5seconds',
      RATE_LIMIT_STRATEGY: 'fixed-window-elastic-expiry',
      TOKEN_RATE_LIMIT: '{"/v1/chat/completions":"20/second","/v1/completions":"40/second"}',
      PROXY: 'http://127.0.0.1:7890',
      LOG_CHAT: 'True',
      CACHE_CHAT_COMPLETION: 'true',
      CACHE_BACKEND: 'MEMORY',
      TIMEOUT: '300',
    };
    const loaded = await loadConfig({ cwd: dir, env });
    const { config } = loaded;
    expect(loaded.file).toBeUndefined();
    expect(loaded.fromVariables).toContain('REQ_RATE_LIMIT');
    expect(config.upstreams.map((u) => [u.name, u.route, u.baseUrl, u.keys.length])).toEqual([
      ['openai', '/openai', 'https://api.openai.com', 2],
      ['localai', '/localai', 'http://localhost:8080', 2],
      ['tts', '/tts', 'http://localhost:8882', 0],
    ]);
    expect(
      config.upstreams.every((u) => u.proxy === 'http://127.0.0.1:7890' && u.timeouts.firstByteMs === 300_000),
    ).toBe(true);
    expect(config.auth?.forwardKeys.map((k) => k.user)).toEqual(['forward-key-1', 'forward-key-2']);
    expect(config.limits).toMatchObject({
      strategy: 'fixed-window',
      streamTokenRate: '20/second',
      routesPerUser: { '/openai/v1/chat/completions': '1/10seconds', '/v1/embeddings': '2/second', '*': '2/5seconds' },
    });
    expect(loaded.notes.join('\n')).toMatch(/elastic/);
    expect(loaded.notes.join('\n')).toMatch(/slowest, 20\/second/);
    expect(config.logs.chat).toBe(true);
    expect(config.cache.chatCompletions).toBe(true);
    expect(config.store).toBe('memory://');
    expect(loaded.origins).toMatchObject({ upstreams: 'environment', limits: 'environment', admin: 'default' });
  });

  it('name a bad value by its variable, in one line, never showing a key', async () => {
    const dir = await dirWith({});
    const base = { OPENAI_API_KEY: 'sk-never-shown-123', FORWARD_KEY: 'fk-never-shown-456' };
    const cases: [Record<string, string>, string, RegExp][] = [
      [{ REQ_RATE_LIMIT: '{"/v1/chat/completions": 60/minute}' }, 'REQ_RATE_LIMIT', /is not JSON/],
      [
        { REQ_RATE_LIMIT: '{"/v1/chat/completions": "lots"}' },
        'REQ_RATE_LIMIT "/v1/chat/completions"',
        /is not a rate/,
      ],
      [{ GLOBAL_RATE_LIMIT: '10 per fortnight' }, 'GLOBAL_RATE_LIMIT', /is not a rate/],
      [{ OPENAI_BASE_URL: 'https://a, https://b' }, 'OPENAI_ROUTE_PREFIX', /2 address\(es\)/],
      [{ CACHE_BACKEND: 'LMDB' }, 'CACHE_BACKEND', /LMDB is not a store aifd has/],
      [{ RATE_LIMIT_STRATEGY: 'token-bucket' }, 'RATE_LIMIT_STRATEGY', /is not fixed-window/],
      [{ LOG_CHAT: 'sometimes' }, 'LOG_CHAT', /is not true or false/],
      [{ PROXY: 'socks5://127.0.0.1:1080' }, 'upstreams[0].proxy', /http:\/\/ or https:\/\//],
    ];
    for (const [extra, fieldPath, problem] of cases) {
      const error = await configError(loadConfig({ cwd: dir, env: { ...base, ...extra } }));
      expect(error.file).toBe('environment');
      expect(error.fieldPath, JSON.stringify(extra)).toBe(fieldPath);
      expect(error.problem).toMatch(problem);
      expect(error.message).not.toMatch(/never-shown/);
      expect(error.message.split('\n')).toHaveLength(1);
    }
  });

  it('refuse to open a pool without FORWARD_KEY, unless AIFD_ANONYMOUS says so', async () => {
    const dir = await dirWith({});
    const error = await configError(loadConfig({ cwd: dir, env: { OPENAI_API_KEY: 'sk-a' } }));
    expect(error.fieldPath).toBe('FORWARD_KEY');
    expect(error.problem).toContain('AIFD_ANONYMOUS=true');
    const open = await loadConfig({ cwd: dir, env: { OPENAI_API_KEY: 'sk-a', AIFD_ANONYMOUS: 'true' } });
    expect(open.config.auth?.anonymous).toBe(true);
  });

  it('are ignored, and named, when a config file is found', async () => {
    const dir = await dirWith({
      'hub.config.json': JSON.stringify({ upstreams: [{ name: 'x', baseUrl: '${OPENAI_BASE_URL}' }] }),
    });
    const loaded = await loadConfig({
      cwd: dir,
      env: { OPENAI_BASE_URL: 'http://127.0.0.1:9', OPENAI_API_KEY: 'sk-a', REQ_RATE_LIMIT: '{}' },
    });
    expect(loaded.config.upstreams[0]!.keys).toEqual([]);
    // the file uses OPENAI_BASE_URL itself, so only the others are ignored
    expect(loaded.ignoredVariables).toEqual(['OPENAI_API_KEY', 'REQ_RATE_LIMIT']);
  });
});

describe('.env', () => {
  it('is read from the working directory (or --env-file), never over variables already set', async () => {
    const dir = await dirWith({
      '.env':
        "# openai-forward style\nLOG_CHAT=true\nOPENAI_BASE_URL='http://127.0.0.1:9101/v1'\nexport CACHE_CHAT_COMPLETION=false\n",
      'other.env': 'LOG_CHAT=false\n',
    });
    const env: NodeJS.ProcessEnv = { CACHE_CHAT_COMPLETION: 'true' };
    const loaded = await loadConfig({ cwd: dir, env });
    expect(loaded.envFile?.applied.sort()).toEqual(['LOG_CHAT', 'OPENAI_BASE_URL']);
    expect(loaded.config.logs.chat).toBe(true);
    expect(loaded.config.cache.chatCompletions).toBe(true);
    expect(loaded.config.upstreams[0]!.baseUrl).toBe('http://127.0.0.1:9101');
    const other = await loadConfig({ cwd: dir, env: {}, envFile: 'other.env' });
    expect(other.config.logs.chat).toBe(false);
    const missing = await configError(loadConfig({ cwd: dir, env: {}, envFile: 'nope.env' }));
    expect(missing.message).toBe('nope.env: no such file');
  });

  it('names a malformed line by its number, without showing it', async () => {
    const dir = await dirWith({
      '.env': 'LOG_CHAT=true\nREQ_RATE_LIMIT=\'{\n"/v1/chat/completions": "1/second"\n}\'\nsk-secret-pasted-here\n',
    });
    const error = await configError(loadConfig({ cwd: dir, env: {} }));
    expect(error.message).toBe('.env: line 5: is not NAME=value (a quoted value may span lines)');
    const unclosed = await dirWith({ '.env': "REQ_RATE_LIMIT='{\n" });
    expect((await configError(loadConfig({ cwd: unclosed, env: {} }))).problem).toContain('never closed');
  });
});
