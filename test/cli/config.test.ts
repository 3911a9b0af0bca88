import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { runCli } from '../helpers/cli.js';
import { loadConfig } from '../../src/config/load.js';

const KEY = 'sk-config-print-secret-key-1234';
const FORWARD = 'fk-config-print-forward-5678';
let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'aifd-config-cli-'));
});
afterAll(() => rm(dir, { recursive: true, force: true }));

async function inDir(name: string, files: Record<string, string>): Promise<string> {
  const at = path.join(dir, name);
  await import('node:fs/promises').then((fs) => fs.mkdir(at, { recursive: true }));
  for (const [file, content] of Object.entries(files)) await writeFile(path.join(at, file), content);
  return at;
}

describe('aifd config print / check', () => {
  it('prints the effective config with every secret masked and where each part came from', async () => {
    const cwd = await inDir('print', {
      'hub.config.json': JSON.stringify({
        upstreams: [
          {
            name: 'openai',
            baseUrl: 'http://127.0.0.1:9',
            keys: ['${KEY}'],
            headers: { 'OpenAI-Organization': 'org-secret' },
            proxy: 'http://user:proxy-password@127.0.0.1:3128',
          },
        ],
        auth: {
          forwardKeys: [{ key: FORWARD, user: 'ann' }],
          jwt: { secret: 'jwt-secret-that-is-long-enough-0000000000' },
        },
        store: 'redis://:redis-password@127.0.0.1:6379',
        admin: { token: 'admin-token-0123456789' },
      }),
      '.env': `KEY=${KEY}\nOPENAI_API_KEY=sk-ignored-because-of-the-file-0000\n`,
    });
    const text = await runCli(['config', 'print'], { cwd });
    const json = await runCli(['config', 'print', '--json'], { cwd });
    expect(text.code).toBe(0);
    expect(json.code).toBe(0);
    for (const output of [text.stdout, json.stdout]) {
      for (const secret of [
        KEY,
        FORWARD,
        'org-secret',
        'proxy-password',
        'redis-password',
        'jwt-secret-that',
        'admin-token-0123456789',
        'sk-ignored-because',
      ])
        expect(output).not.toContain(secret);
    }
    const printed = JSON.parse(json.stdout);
    expect(printed.config.upstreams[0].keys).toEqual(['sk-…1234']);
    expect(printed.origins).toMatchObject({ upstreams: 'file', auth: 'file', listen: 'default', cache: 'default' });
    expect(printed.source.envFile).toBe(path.join(cwd, '.env'));
    expect(printed.source.ignoredVariables).toEqual(['OPENAI_API_KEY']);
    expect(text.stdout).toMatch(/upstreams \(file\)/);
    expect(text.stdout).toContain('# ignored (the file wins): OPENAI_API_KEY');
  });

  it('checks without starting: 0 for a good config, 2 with the usual one line for a bad one', async () => {
    const good = await inDir('good', {
      'hub.config.json': JSON.stringify({ upstreams: [{ name: 'a', baseUrl: 'http://127.0.0.1:9' }] }),
    });
    const ok = await runCli(['config', 'check'], { cwd: good });
    expect(ok.code).toBe(0);
    expect(ok.stdout).toContain('config ok');
    const bad = await inDir('bad', {
      'hub.config.json': JSON.stringify({ upstreams: [{ name: 'a', baseUrl: 'ftp://nope' }] }),
    });
    const refused = await runCli(['config', 'check'], { cwd: bad });
    expect(refused.code).toBe(2);
    expect(refused.stderr).toMatch(/^aifd: config error: hub\.config\.json: upstreams\[0\]\.baseUrl/);
    const badEnv = await inDir('bad-env', { '.env': 'LOG_CHAT=true\nnot an assignment\n' });
    const envRefused = await runCli(['config', 'check'], { cwd: badEnv });
    expect(envRefused.code).toBe(2);
    expect(envRefused.stderr).toContain('.env: line 2: is not NAME=value');
    // Node 20 reads --env-file itself wherever it stands on the command line, and stops (status 9) when the file is missing
    const explicit = await runCli(['--env-file', 'missing.env', 'config', 'check'], { cwd: good });
    expect(explicit.code).not.toBe(0);
    expect(explicit.stderr).toContain('missing.env');
    const withFile = await runCli(['--env-file', 'team.env', 'config', 'print', '--json'], {
      cwd: await inDir('env-only', { 'team.env': 'LOG_CHAT=true\n' }),
    });
    expect(withFile.code).toBe(0);
    expect(JSON.parse(withFile.stdout).config.logs.chat).toBe(true);
  });
});

describe('aifd config import openai-api-route', () => {
  const upstreamsYaml = `authorization: woshimima
address: ":8888"
dbtype: sqlite
dbaddr: ./db.sqlite
upstreams:
  - sk: "sk-route-secret-one-000000000"
    endpoint: "https://api.openai.com/v1"
  - sk: "sk-route-secret-two-000000000"
    endpoint: "https://api.openai.com/v1"
    timeout: 30
    deny:
      - gpt-4-32k
  - sk: "sk-route-secret-three-0000000"
    endpoint: "http://127.0.0.1:11434/v1"
`;

  it('writes an aifd config that loads: one pool per endpoint in order, authorization a forward key', async () => {
    const cwd = await inDir('import', { 'upstreams.yaml': upstreamsYaml });
    const result = await runCli(['config', 'import', 'openai-api-route', 'upstreams.yaml'], { cwd });
    expect(result.code).toBe(0);
    expect(result.stdout + result.stderr).not.toMatch(/sk-route-secret|woshimima/);
    const { config } = await loadConfig({ cwd, env: {} });
    expect(config.upstreams.map((u) => [u.baseUrl, u.keys.length, u.models])).toEqual([
      ['https://api.openai.com', 2, ['*']],
      ['http://127.0.0.1:11434', 1, ['*']],
    ]);
    expect(config.upstreams[0]!.timeouts.firstByteMs).toBe(30_000);
    expect(config.auth?.forwardKeys[0]).toMatchObject({ user: 'openai-api-route' });
    expect(config.listen).toMatchObject({ host: '0.0.0.0', port: 8888 });
    expect(config.logs.sink).toBe(`sqlite://${path.join(cwd, 'db.sqlite')}`);
    expect(config.acl?.rules[0]).toMatchObject({ effect: 'deny', upstreams: ['upstream-1'], models: ['gpt-4-32k'] });
    // it does not overwrite without --force
    const again = await runCli(['config', 'import', 'openai-api-route', 'upstreams.yaml'], { cwd });
    expect(again.code).toBe(2);
    expect(again.stderr).toContain('--force');
  });

  it('names unknown fields and unsupported upstream types', async () => {
    const cwd = await inDir('import-bad', {
      'typo.yaml': 'authorisation: x\nupstreams:\n  - sk: a\n',
      'type.yaml': 'upstreams:\n  - sk: a\n    type: replicate\n',
      'broken.yaml': 'upstreams: [\n',
    });
    const typo = await runCli(['config', 'import', 'openai-api-route', 'typo.yaml', '--output', '-'], { cwd });
    expect(typo.code).toBe(2);
    expect(typo.stderr).toContain('typo.yaml: unknown field "authorisation"');
    const type = await runCli(['config', 'import', 'openai-api-route', 'type.yaml', '--output', '-'], { cwd });
    expect(type.stderr).toContain('upstreams[0].type: "replicate"');
    const broken = await runCli(['config', 'import', 'openai-api-route', 'broken.yaml', '--output', '-'], { cwd });
    expect(broken.stderr).toContain('broken.yaml: cannot be parsed');
    expect((await runCli(['config', 'import', 'litellm', 'typo.yaml'], { cwd })).code).toBe(2);
  });
});
