/**
 * telemetry.otlp end to end: aifd in-process with the OpenAI SDK as client and the mock upstream,
 * exporting to a real OTLP/HTTP receiver that decodes the protobuf. Known traffic gives known
 * spans (GenAI attributes, aifd's own, children for the queue and each attempt, the client's trace
 * continued upstream) and known metrics; an endpoint that is down costs requests nothing.
 */
import { afterEach, describe, expect, it } from 'vitest';
import OpenAI from 'openai';
import { useMockUpstream } from '../helpers/mock.js';
import { startHub, type RunningHub } from '../helpers/hub.js';
import { OtlpReceiver, type ReceivedSpan } from '../helpers/otlp-receiver.js';
import { createMetrics } from '../../src/admin/metrics.js';
import type { Diagnostics } from '../../src/logs/diagnostics.js';
import { silentDiagnostics } from '../../src/logs/diagnostics.js';
import { keyHash } from '../../src/util/hash.js';
import type { AccessRecord } from '../../src/logs/access-record.js';

const KEY_A = 'sk-otlp-a-1111111111111111111111111111';
const KEY_B = 'sk-otlp-b-2222222222222222222222222222';
const ANN = 'fk-otlp-ann-00000000000000000000';
const BOB = 'fk-otlp-bob-00000000000000000000';
const COLLECTOR_TOKEN = 'collector-token-otlp-test-0000';
const SERVER = 2;
const CLIENT = 3;
const INTERNAL = 1;

const mock = useMockUpstream();
const receivers: OtlpReceiver[] = [];
const hubs: RunningHub[] = [];
afterEach(async () => {
  await Promise.all(hubs.splice(0).map((running) => running.close()));
  await Promise.all(receivers.splice(0).map((receiver) => receiver.close()));
});

async function gateway(
  otlp: { endpoint: string } & Record<string, unknown>,
  log: Diagnostics = silentDiagnostics,
  retries = 1,
) {
  const running = await startHub(
    {
      upstreams: [{ name: 'openai', baseUrl: mock.url, keys: [KEY_A, KEY_B], retries }],
      auth: {
        forwardKeys: [
          { key: ANN, user: 'ann', roles: [] },
          { key: BOB, user: 'bob', roles: [] },
        ],
      },
      telemetry: { otlp: { metricsInterval: '1h', ...otlp } },
    },
    { log },
  );
  hubs.push(running);
  return running;
}

async function receiver() {
  const started = await new OtlpReceiver().start();
  receivers.push(started);
  return started;
}

const client = (running: RunningHub, key: string, headers?: Record<string, string>) =>
  new OpenAI({ apiKey: key, baseURL: running.baseURL(), maxRetries: 0, defaultHeaders: headers });

const ask = { model: 'gpt-4o-mini', messages: [{ role: 'user' as const, content: 'hello there' }] };

const childrenOf = (spans: ReceivedSpan[], parent: ReceivedSpan) =>
  spans.filter((span) => span.parentSpanId === parent.spanId && span.traceId === parent.traceId);

describe('telemetry.otlp', () => {
  it('exports a span per request with GenAI attributes, attempt children, and the GenAI metrics', async () => {
    const otlp = await receiver();
    const running = await gateway({ endpoint: otlp.url, headers: { authorization: `Bearer ${COLLECTOR_TOKEN}` } });
    const clientTrace = '0af7651916cd43dd8448eb211c80319c';
    const clientSpan = 'b7ad6b7169203331';
    // ann: one answer, with the client's trace context; bob: a stream; then a retry after a 429.
    const answer = await client(running, ANN, {
      traceparent: `00-${clientTrace}-${clientSpan}-01`,
    }).chat.completions.create(ask);
    const stream = await client(running, BOB).chat.completions.create({ ...ask, stream: true });
    for await (const _ of stream) void _;
    mock.script('*', { type: 'error', error: 'rate_limit_requests' });
    await client(running, ANN).embeddings.create({ model: 'text-embedding-3-small', input: 'some words' });
    // A caller aifd does not know: refused by aifd itself, before any upstream.
    const refused = await client(running, 'fk-nobody')
      .chat.completions.create(ask)
      .catch((err: unknown) => err);
    expect(refused).toBeInstanceOf(OpenAI.AuthenticationError);
    const upstreamSaw = [...mock.received];
    const records: AccessRecord[] = await running.closeAndReadAccessLog();
    expect(records).toHaveLength(4);

    const servers = otlp.spans.filter((span) => span.kind === SERVER);
    expect(servers).toHaveLength(4);
    const byId = new Map(servers.map((span) => [span.attributes['aifd.request.id'], span]));
    for (const record of records) expect(byId.has(record.id)).toBe(true);

    // ann's chat: the client's trace, continued; the upstream was sent the attempt's context.
    const chatRecord = records.find((record) => record.path === '/v1/chat/completions' && record.user === 'ann')!;
    const chat = byId.get(chatRecord.id)!;
    expect(chat.name).toBe('chat gpt-4o-mini');
    expect(chat.traceId).toBe(clientTrace);
    expect(chat.parentSpanId).toBe(clientSpan);
    expect(chat.attributes).toMatchObject({
      'gen_ai.operation.name': 'chat',
      'gen_ai.provider.name': 'openai',
      'gen_ai.request.model': 'gpt-4o-mini',
      'gen_ai.response.model': answer.model,
      'gen_ai.response.id': answer.id,
      'gen_ai.response.finish_reasons': [answer.choices[0]!.finish_reason],
      'gen_ai.usage.input_tokens': answer.usage!.prompt_tokens,
      'gen_ai.usage.output_tokens': answer.usage!.completion_tokens,
      'server.address': '127.0.0.1',
      'server.port': Number(new URL(mock.url).port),
      'http.response.status_code': 200,
      'aifd.user': 'ann',
      'aifd.upstream': 'openai',
      'aifd.key.hash': chatRecord.key,
    });
    // A key was free at once: no queue span, one attempt.
    const [attempt, ...rest] = childrenOf(otlp.spans, chat);
    expect(rest).toEqual([]);
    expect(attempt).toMatchObject({ kind: CLIENT, name: 'chat gpt-4o-mini' });
    expect(attempt!.attributes).toMatchObject({ 'aifd.attempt': 1, 'http.response.status_code': 200 });
    expect(attempt!.startNs).toBeGreaterThanOrEqual(chat.startNs);
    expect(attempt!.endNs).toBeLessThanOrEqual(chat.endNs);
    const sentUpstream = upstreamSaw.find((seen) => seen.url.endsWith('/chat/completions'))!;
    expect(sentUpstream.headers.traceparent).toBe(`00-${clientTrace}-${attempt!.spanId}-01`);

    // The embeddings request: a 429 on one key, then the other key; two attempts in its trace.
    const embeddingsRecord = records.find((record) => record.path === '/v1/embeddings')!;
    const embeddings = byId.get(embeddingsRecord.id)!;
    expect(embeddings.name).toBe('embeddings text-embedding-3-small');
    expect(embeddings.attributes['aifd.attempts']).toBe(2);
    const attempts = childrenOf(otlp.spans, embeddings)
      .filter((span) => span.kind === CLIENT)
      .sort((a, b) => Number(a.attributes['aifd.attempt']) - Number(b.attributes['aifd.attempt']));
    expect(attempts.map((span) => span.attributes['http.response.status_code'])).toEqual([429, 200]);
    expect(attempts[0]!.statusCode).toBe(2);
    expect(new Set(attempts.map((span) => span.attributes['aifd.key.hash']))).toEqual(
      new Set([keyHash(KEY_A), keyHash(KEY_B)]),
    );

    // The refused caller: a span of its own, with the error and no model call under it.
    const refusedSpan = servers.find((span) => span.attributes['http.response.status_code'] === 401)!;
    expect(refusedSpan.attributes['error.type']).toBeDefined();
    expect(childrenOf(otlp.spans, refusedSpan)).toEqual([]);

    // Metrics: tokens per type add up to the records', one duration per model call, TTFT for the stream.
    const tokens = (type: string) =>
      otlp.points
        .filter(
          (point) => point.metric === 'gen_ai.client.token.usage' && point.attributes['gen_ai.token.type'] === type,
        )
        .reduce((sum, point) => sum + point.sum, 0);
    const served = records.filter((record) => record.usage);
    expect(tokens('input')).toBe(served.reduce((sum, record) => sum + record.usage!.prompt_tokens, 0));
    expect(tokens('output')).toBe(served.reduce((sum, record) => sum + record.usage!.completion_tokens, 0));
    const durations = otlp.points.filter((point) => point.metric === 'gen_ai.client.operation.duration');
    expect(durations.reduce((sum, point) => sum + point.count, 0)).toBe(4);
    expect(durations[0]!.unit).toBe('s');
    expect(durations[0]!.bounds.slice(0, 3)).toEqual([0.01, 0.02, 0.04]);
    const firstTokens = otlp.points.filter((point) => point.metric === 'gen_ai.server.time_to_first_token');
    expect(firstTokens.map((point) => point.count)).toEqual([1]);
    expect(firstTokens[0]!.attributes['gen_ai.request.model']).toBe('gpt-4o-mini');

    expect(servers[0]!.resource['service.name']).toBe('aifd');
    expect(otlp.headers.every((headers) => headers.authorization === `Bearer ${COLLECTOR_TOKEN}`)).toBe(true);
    // No secret in anything exported: pool keys, forward keys.
    const exported = Buffer.concat(otlp.bodies).toString('latin1');
    for (const secret of [KEY_A, KEY_B, ANN, BOB, 'fk-nobody']) expect(exported).not.toContain(secret);
    expect(JSON.stringify(otlp.spans, (_, value) => (typeof value === 'bigint' ? String(value) : value))).not.toMatch(
      /sk-otlp|fk-otlp/,
    );
  });

  it('makes a span of a wait for a key', async () => {
    const otlp = await receiver();
    const running = await gateway({ endpoint: otlp.url }, silentDiagnostics, 2);
    // Both keys refuse with a short Retry-After: the third attempt waits in the queue for one to come back.
    mock.script(KEY_A, { type: 'error', error: 'rate_limit_requests', headers: { 'retry-after-ms': '150' } });
    mock.script(KEY_B, { type: 'error', error: 'rate_limit_requests', headers: { 'retry-after-ms': '150' } });
    const answer = await client(running, ANN).chat.completions.create(ask);
    await running.close();
    const request = otlp.spans.find((span) => span.kind === SERVER)!;
    const queues = childrenOf(otlp.spans, request).filter((span) => span.kind === INTERNAL);
    expect(queues.map((span) => span.name)).toEqual(['key queue']);
    // The wait lasted about as long as the keys cooled.
    expect(Number(queues[0]!.endNs - queues[0]!.startNs) / 1e6).toBeGreaterThanOrEqual(100);
    expect(answer.object).toBe('chat.completion');
    expect(request.attributes['aifd.attempts']).toBe(3);
  });

  it('samples by ratio but follows a sampled client, and still sends the trace context upstream', async () => {
    const otlp = await receiver();
    const running = await gateway({ endpoint: otlp.url, sampling: 0 });
    await client(running, ANN).chat.completions.create(ask);
    const followed = '4bf92f3577b34da6a3ce929d0e0e4736';
    await client(running, ANN, { traceparent: `00-${followed}-00f067aa0ba902b7-01` }).chat.completions.create(ask);
    await running.close();
    const traces = new Set(otlp.spans.map((span) => span.traceId));
    expect([...traces]).toEqual([followed]);
    // The unsampled request still told the upstream its (unsampled) context.
    expect(mock.received[0]!.headers.traceparent).toMatch(/^00-[0-9a-f]{32}-[0-9a-f]{16}-00$/);
    // Metrics do not depend on sampling.
    const durations = otlp.points.filter((point) => point.metric === 'gen_ai.client.operation.duration');
    expect(durations.reduce((sum, point) => sum + point.count, 0)).toBe(2);
  });

  it('drops and counts the spans of an endpoint that is down; every request is answered and logged', async () => {
    const down = await receiver();
    const url = down.url;
    await down.close();
    const warnings: string[] = [];
    const log: Diagnostics = { ...silentDiagnostics, warn: (message) => void warnings.push(message) };
    const running = await gateway({ endpoint: url }, log);
    const metrics = createMetrics(running.hub);
    const answers = await Promise.all(
      Array.from({ length: 20 }, (_, i) => client(running, i % 2 ? ANN : BOB).chat.completions.create(ask)),
    );
    expect(answers.every((answer) => answer.object === 'chat.completion')).toBe(true);
    const records = await running.closeAndReadAccessLog();
    expect(records).toHaveLength(20);
    // Each request made two spans (itself and its one attempt; a key was free at once): all lost, all counted.
    expect(running.hub.telemetry!.droppedSpans()).toBe(40);
    expect(await metrics.text()).toMatch(/^aifd_telemetry_dropped_spans_total 40$/m);
    expect(warnings.filter((warning) => warning.startsWith('could not export OpenTelemetry spans'))).toHaveLength(1);
  });

  it('refuses an endpoint that is not a URL and a sampling ratio outside 0 to 1', async () => {
    for (const otlp of [{ endpoint: 'collector:4318' }, { endpoint: 'http://127.0.0.1:4318', sampling: 2 }]) {
      await expect(gateway(otlp)).rejects.toThrow(/telemetry\.otlp\.(endpoint|sampling)/);
    }
  });
});
