import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import * as jose from 'jose';
import { runCli } from '../helpers/cli.js';

const SECRET = 'token-cli-secret-that-is-long-enough-123456';
let dir: string;
let noJwt: string;

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'aifd-tokens-'));
  noJwt = await mkdtemp(path.join(os.tmpdir(), 'aifd-tokens-'));
  await writeFile(
    path.join(dir, 'hub.config.json'),
    JSON.stringify({
      upstreams: [{ name: 'o', baseUrl: 'http://127.0.0.1:9' }],
      auth: { jwt: { secret: '${SECRET}', defaultExpires: '2h' } },
    }),
  );
  await writeFile(
    path.join(noJwt, 'hub.config.json'),
    JSON.stringify({ upstreams: [{ name: 'o', baseUrl: 'http://127.0.0.1:9' }] }),
  );
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
  await rm(noJwt, { recursive: true, force: true });
});

describe('aifd token-gen', () => {
  it('signs the claims it was given, expiring by default', async () => {
    const result = await runCli(
      ['token-gen', '--user', 'ann', '--role', 'dev', 'ops', '--model', 'gpt-4o*', '--path', '/v1/chat/*'],
      { cwd: dir, env: { SECRET } },
    );
    expect(result.code).toBe(0);
    const { payload } = await jose.jwtVerify(result.stdout.trim(), new TextEncoder().encode(SECRET), {
      issuer: 'aifd',
      audience: 'aifd',
    });
    expect(payload).toMatchObject({ sub: 'ann', roles: ['dev', 'ops'], models: ['gpt-4o*'], paths: ['/v1/chat/*'] });
    expect(payload.exp! - payload.iat!).toBe(7200);
    expect(result.stderr).toBe('');
  });
  it('makes a token that never expires only when told, with a warning', async () => {
    const result = await runCli(['token-gen', '--user', 'svc', '--expires', 'never', '--json'], {
      cwd: dir,
      env: { SECRET },
    });
    expect(result.code).toBe(0);
    expect(JSON.parse(result.stdout).exp).toBeNull();
    expect(result.stderr).toContain('never expires');
  });
  it('exits 2 with one clear line when it cannot sign', async () => {
    const missing = await runCli(['token-gen', '--user', 'ann'], { cwd: noJwt });
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain('no auth.jwt section');
    const bad = await runCli(['token-gen', '--user', 'ann', '--expires', 'someday'], { cwd: dir, env: { SECRET } });
    expect(bad.code).toBe(2);
    const noUser = await runCli(['token-gen'], { cwd: dir, env: { SECRET } });
    expect(noUser.code).toBe(2);
    const short = await mkdtemp(path.join(os.tmpdir(), 'aifd-tokens-'));
    await writeFile(
      path.join(short, 'hub.config.json'),
      JSON.stringify({
        upstreams: [{ name: 'o', baseUrl: 'http://127.0.0.1:9' }],
        auth: { jwt: { secret: 'too-short' } },
      }),
    );
    const weak = await runCli(['token-gen', '--user', 'ann'], { cwd: short });
    expect(weak.code).toBe(2);
    expect(weak.stderr).toContain('auth.jwt.secret: the secret must be at least 32 bytes');
    await rm(short, { recursive: true, force: true });
  });
  it('token-revoke needs a jti or a user', async () => {
    const result = await runCli(['token-revoke'], { cwd: dir, env: { SECRET } });
    expect(result.code).toBe(2);
  });
});
