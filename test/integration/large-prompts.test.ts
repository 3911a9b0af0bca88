/**
 * Large prompts through aifd with token limits: counting a 1 MB prompt exactly (at the margin of
 * its limit) happens off the event loop, so a stream flowing meanwhile keeps its pace; the large
 * and malformed bodies teams and attackers send get their answer while others are served.
 */
import http from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { useMockUpstream } from '../helpers/mock.js';
import { startHub, type RunningHub } from '../helpers/hub.js';
import { longChatBody } from '../helpers/prompts.js';
import { request, type RawResponse } from '../helpers/http.js';

const ANN = 'fk-large-prompts-ann-000000000';
const POOL = 'sk-large-prompts-pool-000000000';
// Below the bound of three 1 MB prompts (their bytes), above their exact count: each is decided by the exact count.
const LIMIT = 2_000_000;

describe('large prompts', () => {
  const mock = useMockUpstream();
  let running: RunningHub;
  const prompt = longChatBody(1024 * 1024);
  beforeAll(async () => {
    running = await startHub({
      upstreams: [{ name: 'openai', baseUrl: mock.url, keys: [POOL] }],
      auth: { forwardKeys: [{ key: ANN, user: 'ann', roles: [] }] },
      limits: { strategy: 'fixed-window', user: { tokens: `${LIMIT}/day` } },
    });
  });
  afterAll(() => running.close());

  const post = (body: Buffer) =>
    request(`${running.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${ANN}`, 'content-type': 'application/json', 'x-mock-ignore-body': '1' },
      body,
    });

  /** A stream of 30 chunks 10 ms apart; `meanwhile` starts at its first chunk. Resolves with the gaps between chunks (ms). */
  function streamGaps(
    meanwhile?: () => Promise<unknown>,
  ): Promise<{ gaps: number[]; complete: boolean; meanwhile: unknown }> {
    return new Promise((resolve, reject) => {
      const body = JSON.stringify({
        model: 'gpt-4o-mini',
        stream: true,
        messages: [{ role: 'user', content: 'Stream.' }],
      });
      const req = http.request(
        `${running.url}/v1/chat/completions`,
        {
          method: 'POST',
          agent: false,
          headers: {
            authorization: `Bearer ${ANN}`,
            'content-type': 'application/json',
            'x-mock-chunks': '30',
            'x-mock-delay-ms': '10',
          },
        },
        (res) => {
          const arrivals: number[] = [];
          let text = '';
          let during: Promise<unknown> = Promise.resolve(undefined);
          res.on('data', (chunk: Buffer) => {
            arrivals.push(performance.now());
            text += chunk.toString();
            if (arrivals.length === 1 && meanwhile) during = meanwhile();
          });
          res.on('end', () => {
            during.then(
              (result) =>
                resolve({
                  gaps: arrivals.slice(1).map((at, i) => at - arrivals[i]!),
                  complete: text.includes('data: [DONE]'),
                  meanwhile: result,
                }),
              reject,
            );
          });
        },
      );
      req.on('error', reject);
      req.end(body);
    });
  }

  it('counts a 1 MB prompt exactly without holding up a stream flowing meanwhile', async () => {
    // The bound does not fit: admitting it takes the exact count, on the worker thread (started here).
    expect(prompt.length * 2).toBeGreaterThan(LIMIT);
    expect((await post(prompt)).status).toBe(200);
    const quiet = await streamGaps();
    const loaded = await streamGaps(async () => {
      const statuses: number[] = [];
      for (let i = 0; i < 3; i++) statuses.push((await post(prompt)).status);
      return statuses;
    });
    expect(loaded.meanwhile).toEqual([200, 200, 200]);
    // Counted on the event loop, each prompt held every stream for about 50 ms.
    expect(Math.max(...loaded.gaps)).toBeLessThan(Math.max(...quiet.gaps) + 25);
  });

  it('answers each kind of bad body as before, while a stream goes on', async () => {
    const giant = Buffer.concat([
      Buffer.from('{"model":"gpt-4o-mini","messages":[{"role":"user","content":"'),
      Buffer.alloc(25 * 1024 * 1024, 'a'),
      Buffer.from('"}]}'),
    ]);
    const tiny = Buffer.from(
      JSON.stringify({
        model: 'gpt-4o-mini',
        max_tokens: 1,
        messages: Array.from({ length: 100_000 }, () => ({ role: 'user', content: 'hi' })),
      }),
    );
    const deep = Buffer.from(
      `{"model":"gpt-4o-mini","max_tokens":1,"messages":[{"role":"user","content":"hi","x":${'['.repeat(10_000)}${']'.repeat(10_000)}}]}`,
    );
    const notUtf8 = Buffer.concat([
      Buffer.from('{"model":"gpt-4o-mini","max_tokens":1,"messages":[{"role":"user","content":"'),
      Buffer.from([0xff, 0xfe, 0xc3, 0x28]),
      Buffer.from('"}]}'),
    ]);
    const notArray = Buffer.from('{"model":"gpt-4o-mini","max_tokens":1,"messages":"hello"}');
    const broken = Buffer.from('{"model":"gpt-4o-mini","messages":[{"role":"user" "content":"x"}]}');
    const { complete, meanwhile } = await streamGaps(async () => ({
      giant: await post(giant),
      tiny: await post(tiny),
      deep: await post(deep),
      notUtf8: await post(notUtf8),
      notArray: await post(notArray),
      broken: await post(broken),
    }));
    const answers = meanwhile as Record<string, RawResponse>;
    expect(answers.giant!.status).toBe(413);
    expect(JSON.parse(answers.giant!.text).error.code).toBe('request_too_large');
    for (const forwarded of ['tiny', 'deep', 'notUtf8', 'notArray'] as const)
      expect(answers[forwarded]!.status, forwarded).toBe(200);
    expect(answers.broken!.status).toBe(400);
    expect(JSON.parse(answers.broken!.text).error.code).toBe('invalid_json');
    // the stream went on meanwhile, to its end
    expect(complete).toBe(true);
  });
});
