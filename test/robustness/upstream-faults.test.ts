/**
 * Faults from upstreams, each through a real gateway with two pool keys: the client gets a clean
 * OpenAI-shaped error or a properly ended answer, the key is judged for what happened, the access
 * log records it, and every in-flight counter is back at 0.
 */
import { describe, expect, it } from 'vitest';
import { useMockUpstream } from '../helpers/mock.js';
import OpenAI from 'openai';
import type { Behavior } from '../mock-upstream/mock-upstream.js';
import { keyViews, useHub, type RunningHub } from '../helpers/hub.js';
import { keyHash } from '../../src/util/hash.js';
import type { KeyStatus } from '../../src/keys/pool.js';

const KEYS = ['sk-fault-key-one-11111111111111111111', 'sk-fault-key-two-22222222222222222222'];
const USER = 'fk-fault-user-0000000000000';

interface Case {
  name: string;
  behavior: Behavior;
  stream: boolean;
  /** What the client sees: a whole answer, or the error code it gets. */
  expect: { answer: true } | { error: string; status?: number };
  /** How the keys that served it are judged afterwards. */
  keyStatus: KeyStatus;
  /** The access log's `error` and `status` (and where usage came from, where it matters). */
  logged: { error: string | null; status: number | null; usageSource?: string };
}

const CASES: Case[] = [
  {
    name: 'an HTML error page with status 200',
    behavior: { type: 'garbage' },
    stream: false,
    expect: { error: 'upstream_bad_response', status: 502 },
    keyStatus: 'cooling',
    logged: { error: 'upstream_bad_response', status: 502 },
  },
  {
    name: 'JSON under a wrong content type',
    behavior: { type: 'wrong-type' },
    stream: false,
    expect: { answer: true },
    keyStatus: 'ok',
    logged: { error: null, status: 200, usageSource: 'estimated' },
  },
  {
    name: 'a stream cut after 3 chunks',
    behavior: { type: 'drop-mid-stream', afterChunks: 3 },
    stream: true,
    expect: { error: 'upstream_bad_response' },
    keyStatus: 'cooling',
    logged: { error: 'upstream_closed_early', status: 200 },
  },
  {
    name: 'a stream that stops sending and never ends',
    behavior: { type: 'stall-mid-stream', afterChunks: 2 },
    stream: true,
    expect: { error: 'upstream_bad_response' },
    keyStatus: 'cooling',
    logged: { error: 'upstream_timeout', status: 200 },
  },
  {
    name: 'stream headers, then silence',
    behavior: { type: 'hang-after-headers' },
    stream: true,
    expect: { error: 'upstream_bad_response' },
    keyStatus: 'cooling',
    logged: { error: 'upstream_timeout', status: 200 },
  },
  {
    name: 'JSON headers, then silence',
    behavior: { type: 'hang-after-json-headers' },
    stream: false,
    expect: { error: 'upstream_timeout', status: 504 },
    keyStatus: 'cooling',
    logged: { error: 'upstream_timeout', status: 504 },
  },
  {
    name: 'a gzip answer',
    behavior: { type: 'gzip' },
    stream: false,
    expect: { answer: true },
    keyStatus: 'ok',
    logged: { error: null, status: 200, usageSource: 'estimated' },
  },
  {
    name: 'a chunked answer in 7 pieces',
    behavior: { type: 'chunked', pieces: 7 },
    stream: false,
    expect: { answer: true },
    keyStatus: 'ok',
    logged: { error: null, status: 200, usageSource: 'upstream' },
  },
  {
    name: 'a slow trickle, 64 bytes every 20 ms',
    behavior: { type: 'trickle', bytes: 64, delayMs: 20 },
    stream: false,
    expect: { answer: true },
    keyStatus: 'ok',
    logged: { error: null, status: 200 },
  },
  {
    name: 'a connection reset before answering',
    behavior: { type: 'reset' },
    stream: false,
    expect: { error: 'upstream_unreachable', status: 502 },
    keyStatus: 'cooling',
    logged: { error: 'upstream_unreachable', status: 502 },
  },
  {
    name: 'no answer at all',
    behavior: { type: 'hang' },
    stream: false,
    expect: { error: 'upstream_timeout', status: 504 },
    keyStatus: 'cooling',
    logged: { error: 'upstream_timeout', status: 504 },
  },
];

describe('faults from upstreams', () => {
  const mock = useMockUpstream();
  const hubs = useHub();
  let running: RunningHub | undefined;

  for (const fault of CASES) {
    it(`${fault.name}: ${'answer' in fault.expect ? 'a whole answer' : fault.expect.error}`, async () => {
      running = await hubs.start({
        upstreams: [
          {
            name: 'openai',
            baseUrl: mock.url,
            keys: KEYS,
            retries: 1,
            timeouts: { firstByteMs: 400, streamFirstByteMs: 400, idleMs: 300 },
          },
        ],
        auth: { forwardKeys: [{ key: USER, user: 'ann', roles: [] }] },
      });
      mock.always('*', fault.behavior);
      const client = new OpenAI({ apiKey: USER, baseURL: running.baseURL(), maxRetries: 0 });
      const outcome = await (fault.stream ? readStream(client) : readJson(client));
      if ('answer' in fault.expect) {
        expect(outcome).toEqual({ answer: expect.stringContaining('') });
      } else {
        expect(outcome).toMatchObject({
          error: fault.expect.error,
          ...(fault.expect.status ? { status: fault.expect.status } : {}),
        });
      }
      const { hub } = running;
      const sentWith = new Set(mock.received.map((request) => keyHash(request.key ?? '')));
      const used = keyViews(running).filter((view) => sentWith.has(view.hash));
      expect(used.length).toBeGreaterThan(0);
      for (const view of used) expect(view.status).toBe(fault.keyStatus);
      // Closing waits for requests still finishing (their records), then nothing may be left.
      const records = await running.closeAndReadAccessLog();
      expect(keyViews(running).map((view) => view.inFlight)).toEqual([0, 0]);
      expect(hub.inFlight()).toBe(0);
      expect(records).toHaveLength(1);
      expect(records[0]).toMatchObject(fault.logged);
    });
  }
});

type Outcome = { answer: string } | { error: string | undefined; status: number | undefined };

async function readJson(client: OpenAI): Promise<Outcome> {
  try {
    const answer = await client.chat.completions.create({
      model: 'gpt-4o-mini',
      messages: [{ role: 'user', content: 'hi' }],
    });
    // A wrong content type reaches the SDK as text; either way the whole answer arrived.
    const text = typeof answer === 'string' ? answer : answer.choices[0]!.message.content!;
    expect(text).toContain(typeof answer === 'string' ? '"chat.completion"' : '');
    return { answer: text };
  } catch (err) {
    return errorOf(err);
  }
}

async function readStream(client: OpenAI): Promise<Outcome> {
  try {
    const stream = await client.chat.completions.create({
      model: 'gpt-4o-mini',
      messages: [{ role: 'user', content: 'hi' }],
      stream: true,
    });
    let text = '';
    for await (const chunk of stream) text += chunk.choices[0]?.delta.content ?? '';
    return { answer: text };
  } catch (err) {
    return errorOf(err);
  }
}

function errorOf(err: unknown): Outcome {
  expect(err).toBeInstanceOf(OpenAI.APIError);
  const error = err as InstanceType<typeof OpenAI.APIError>;
  return { error: error.code ?? undefined, status: error.status };
}
