/**
 * Off means not loaded: `aifd run` without telemetry.otlp resolves no OpenTelemetry module, even
 * after serving requests; with it, the SDK is loaded. Every module the daemon resolves is recorded
 * by a module hook (test/telemetry/load-probe).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { useMockUpstream } from '../helpers/mock.js';
import { startDaemon } from '../helpers/cli.js';
import { request } from '../helpers/http.js';
import { OtlpReceiver } from '../helpers/otlp-receiver.js';

const PROBE = pathToFileURL(path.resolve('test/telemetry/load-probe/register.mjs')).href;
const mock = useMockUpstream();
let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'aifd-otel-load-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** Runs the daemon with `extra` config, serves one chat request, stops it; returns the modules it resolved. */
async function modulesResolved(name: string, extra: Record<string, unknown>): Promise<string[]> {
  const file = path.join(dir, `${name}.json`);
  const probe = path.join(dir, `${name}.modules`);
  await writeFile(probe, '');
  await writeFile(
    file,
    JSON.stringify({
      store: 'memory://',
      logs: { dir: path.join(dir, `${name}-logs`) },
      upstreams: [{ name: 'openai', baseUrl: mock.url, keys: ['sk-load-probe-000000000000000000'] }],
      auth: { anonymous: true },
      admin: { enabled: false },
      ...extra,
    }),
  );
  const daemon = await startDaemon(['--config', file, '--port', '0'], {
    cwd: dir,
    env: { NODE_OPTIONS: `--import ${PROBE}`, AIFD_LOAD_PROBE: probe },
  });
  const answer = await request(`${daemon.url}/v1/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }] }),
  });
  expect(answer.status).toBe(200);
  expect(await daemon.stop('SIGTERM')).toBe(0);
  return (await readFile(probe, 'utf8')).split('\n').filter(Boolean);
}

describe('OpenTelemetry off', () => {
  it('is not loaded at all; on, it is', async () => {
    const off = await modulesResolved('off', {});
    // The probe saw the daemon's own modules, so an empty match below means something.
    expect(off.some((url) => url.endsWith('/dist/proxy/hub.js'))).toBe(true);
    expect(off.filter((url) => url.includes('@opentelemetry') || url.includes('/dist/telemetry/otlp.js'))).toEqual([]);

    const receiver = await new OtlpReceiver().start();
    try {
      const on = await modulesResolved('on', { telemetry: { otlp: { endpoint: receiver.url } } });
      expect(on.some((url) => url.includes('/@opentelemetry/sdk-trace-base/'))).toBe(true);
      expect(receiver.spans.length).toBeGreaterThan(0);
    } finally {
      await receiver.close();
    }
  });
});
