/** listen.tls: HTTPS (and WSS) on the public listener, a certificate read again on reload, a bad pair refused clearly. */
import { describe, expect, it, beforeAll } from 'vitest';
import { copyFile, mkdtemp } from 'node:fs/promises';
import https from 'node:https';
import os from 'node:os';
import path from 'node:path';
import { useMockUpstream } from '../helpers/mock.js';
import { startAdmin, useHub, type RunningHub } from '../helpers/hub.js';
import { makeCertificate, type TestCertificate } from '../helpers/tls.js';

const POOL_KEY = 'sk-tls-listener-pool-key-000000000';

function postJson(url: string, payload: unknown, ca: string): Promise<{ status: number; body: any }> {
  return new Promise((resolve, reject) => {
    const req = https.request(url, { method: 'POST', ca, headers: { 'content-type': 'application/json' } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: JSON.parse(Buffer.concat(chunks).toString()) }));
    });
    req.on('error', reject);
    req.end(JSON.stringify(payload));
  });
}

/** The fingerprint of the certificate a new connection to `url` is shown. */
function servedFingerprint(url: string, ca: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = https.get(`${url}/healthz`, { ca, agent: false }, (res) => {
      resolve((res.socket as import('node:tls').TLSSocket).getPeerCertificate().fingerprint256);
      res.resume();
    });
    req.on('error', reject);
  });
}

describe('listen.tls', () => {
  const mock = useMockUpstream();
  const hubs = useHub();
  let dir: string;
  let first: TestCertificate;
  let second: TestCertificate;
  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'aifd-tls-'));
    [first, second] = await Promise.all([makeCertificate(dir, 'first'), makeCertificate(dir, 'second')]);
  });

  async function start(cert: string, key: string): Promise<RunningHub> {
    return hubs.start({
      upstreams: [{ name: 'openai', baseUrl: mock.url, keys: [POOL_KEY] }],
      auth: { anonymous: true },
      listen: { tls: { cert, key } } as never,
    });
  }

  it('serves the API over HTTPS, and a renewed certificate after a reload', async () => {
    const live = { cert: path.join(dir, 'live-cert.pem'), key: path.join(dir, 'live-key.pem') };
    await copyFile(first.certFile, live.cert);
    await copyFile(first.keyFile, live.key);
    const running = await start(live.cert, live.key);
    const url = running.url.replace('http://', 'https://');
    const answer = await postJson(`${url}/v1/chat/completions`, { model: 'gpt-4o-mini', messages: [] }, first.cert);
    expect(answer).toMatchObject({ status: 200, body: { object: 'chat.completion' } });
    const before = await servedFingerprint(url, [first.cert, second.cert]);
    await copyFile(second.certFile, live.cert);
    await copyFile(second.keyFile, live.key);
    expect((await running.hub.reload(running.config)).ok).toBe(true);
    const after = await servedFingerprint(url, [first.cert, second.cert]);
    expect(after).not.toBe(before);
  });

  it('serves the admin listener over HTTPS with admin.tls', async () => {
    const running = await start(first.certFile, first.keyFile);
    const admin = await startAdmin(running.hub, 'admin-tls-token-000000', { cert: first.certFile, key: first.keyFile });
    try {
      expect(admin.url.startsWith('https://')).toBe(true);
      const state = await new Promise<{ status: number; body: string }>((resolve, reject) => {
        https
          .get(
            `${admin.url}/state`,
            { ca: first.cert, headers: { authorization: 'Bearer admin-tls-token-000000' } },
            (res) => {
              let body = '';
              res.on('data', (chunk) => (body += chunk));
              res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
            },
          )
          .on('error', reject);
      });
      expect(state.status).toBe(200);
      expect(JSON.parse(state.body).sessions).toBe(0);
    } finally {
      await admin.close();
    }
  });

  it('refuses a certificate and key that are not a pair, at start and on reload', async () => {
    await expect(start(first.certFile, second.keyFile)).rejects.toThrow(/are not a certificate and its key/);
    await expect(start(path.join(dir, 'missing.pem'), second.keyFile)).rejects.toThrow(/cannot read .*missing\.pem/);
    const live = { cert: path.join(dir, 'pair-cert.pem'), key: path.join(dir, 'pair-key.pem') };
    await copyFile(first.certFile, live.cert);
    await copyFile(first.keyFile, live.key);
    const running = await start(live.cert, live.key);
    await copyFile(second.keyFile, live.key);
    const result = await running.hub.reload(running.config);
    expect(result).toMatchObject({ ok: false, error: expect.stringMatching(/not a certificate and its key/) });
    // The running certificate stays.
    expect(await servedFingerprint(running.url.replace('http://', 'https://'), [first.cert])).toBeTruthy();
  });
});
