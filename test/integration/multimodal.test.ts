/**
 * The requests teams send with images, audio and files, through aifd with token limits and USD
 * budgets: reservations follow each medium's own rules, settlement follows the upstream's usage,
 * and each kind of token is priced at its own rate.
 */
import { describe, expect, it } from 'vitest';
import OpenAI from 'openai';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { useMockUpstream } from '../helpers/mock.js';
import { startHub, useHub, type RunningHub } from '../helpers/hub.js';
import { request } from '../helpers/http.js';
import { runCli } from '../helpers/cli.js';
import { dataUrl, jpegImage, pdf, png, wav } from '../helpers/media.js';
import type { AccessRecord } from '../../src/logs/access-record.js';

const POOL_KEY = 'sk-multimodal-pool-key-000000000';
const ANN = 'fk-multimodal-ann-0000000000';
const LIMIT = 100_000;

describe('images, audio and files', () => {
  const mock = useMockUpstream();
  const hubs = useHub();
  let running: RunningHub | undefined;

  async function hub(extra: Record<string, unknown> = {}) {
    running = await hubs.start({
      upstreams: [{ name: 'openai', baseUrl: mock.url, keys: [POOL_KEY] }],
      auth: { forwardKeys: [{ key: ANN, user: 'ann', roles: [] }] },
      limits: { strategy: 'fixed-window', user: { tokens: `${LIMIT}/minute` } },
      ...extra,
    });
    return running;
  }
  const sdk = (url: string) => new OpenAI({ apiKey: ANN, baseURL: `${url}/v1`, maxRetries: 0 });
  /** Resolves with the next access record, written once the request is settled. */
  const nextRecord = () => new Promise<AccessRecord>((resolve) => running!.hub.recorder.onRecord(resolve));
  /** The upstream answers with this usage (as OpenAI reports it). */
  const upstreamUsage = (model: string, usage: Record<string, unknown>) =>
    mock.always(POOL_KEY, {
      type: 'status',
      status: 200,
      body: JSON.stringify({
        id: 'chatcmpl-mm',
        object: 'chat.completion',
        created: 1_764_000_000,
        model,
        choices: [{ index: 0, message: { role: 'assistant', content: 'A cat.' }, finish_reason: 'stop' }],
        usage,
      }),
    });
  const imageMessage = (url: string, detail?: 'low' | 'high') => [
    {
      role: 'user' as const,
      content: [
        { type: 'text' as const, text: 'What is in this picture?' },
        { type: 'image_url' as const, image_url: { url, ...(detail ? { detail } : {}) } },
      ],
    },
  ];

  it("a 300 KB PNG passes a 100k-token limit; the reservation is the rules' figure and settles to the upstream's usage", async () => {
    const { url } = await hub();
    const image = png(300, 250, true);
    expect(image.length).toBeGreaterThan(250_000);
    upstreamUsage('gpt-4o-2024-08-06', {
      prompt_tokens: 268,
      completion_tokens: 3,
      total_tokens: 271,
      prompt_tokens_details: { cached_tokens: 0 },
    });
    const settled = nextRecord();
    const first = await sdk(url)
      .chat.completions.create({ model: 'gpt-4o', max_tokens: 50, messages: imageMessage(dataUrl('image/png', image)) })
      .withResponse();
    const reserved = LIMIT - Number(first.response.headers.get('x-ratelimit-remaining-tokens'));
    // 85 + 170 for one tile, max_tokens, and the question bounded by its bytes (24, and 4 for the role)
    expect(reserved).toBeGreaterThanOrEqual(85 + 170 + 50);
    expect(reserved).toBeLessThanOrEqual(85 + 170 + 50 + 24 + 4 + 6);
    // the upstream got the image byte for byte
    expect(JSON.parse(mock.received[0]!.body.toString()).messages[0].content[1].image_url.url).toBe(
      dataUrl('image/png', image),
    );
    const record = await settled;
    expect(record).toMatchObject({
      status: 200,
      usageSource: 'upstream',
      usage: { prompt_tokens: 268, completion_tokens: 3, total_tokens: 271 },
    });
    // the counter holds exactly what the upstream reported: the same request reserves the same again on top of it
    const second = await sdk(url)
      .chat.completions.create({ model: 'gpt-4o', max_tokens: 50, messages: imageMessage(dataUrl('image/png', image)) })
      .withResponse();
    expect(LIMIT - Number(second.response.headers.get('x-ratelimit-remaining-tokens'))).toBe(271 + reserved);
  });

  it('JPEGs of several sizes and details reserve by the rules, per model', async () => {
    const cases: [string, number, number, 'low' | 'high' | undefined, number][] = [
      ['gpt-4o', 1024, 1024, 'high', 765],
      ['gpt-4o', 2048, 4096, undefined, 1105],
      ['gpt-4o', 4000, 3000, 'low', 85],
      ['gpt-4.1-mini', 1024, 1024, undefined, Math.ceil(1024 * 1.62)],
    ];
    // one user per case: each reservation starts from an empty counter
    const { url } = await hub({
      auth: {
        forwardKeys: cases.map((_, i) => ({ key: `fk-multimodal-user-${i}-000000`, user: `user-${i}`, roles: [] })),
      },
    });
    for (const [i, [model, width, height, detail, imageTokens]] of cases.entries()) {
      const client = new OpenAI({ apiKey: `fk-multimodal-user-${i}-000000`, baseURL: `${url}/v1`, maxRetries: 0 });
      const response = await client.chat.completions
        .create({
          model,
          max_tokens: 1,
          messages: imageMessage(dataUrl('image/jpeg', jpegImage(width, height)), detail),
        })
        .withResponse();
      const reserved = LIMIT - Number(response.response.headers.get('x-ratelimit-remaining-tokens'));
      expect(reserved, `${model} ${width}×${height} ${detail}`).toBeGreaterThanOrEqual(imageTokens + 1);
      expect(reserved, `${model} ${width}×${height} ${detail}`).toBeLessThanOrEqual(imageTokens + 1 + 24 + 4 + 6);
    }
  });

  it('reserves WAV audio by its duration and a PDF by its size, and settles to the reported usage', async () => {
    const { url } = await hub();
    const audio = wav(6);
    upstreamUsage('gpt-4o-audio-preview-2025-06-03', {
      prompt_tokens: 75,
      completion_tokens: 10,
      total_tokens: 85,
      prompt_tokens_details: { audio_tokens: 60, cached_tokens: 0 },
      completion_tokens_details: { audio_tokens: 0, reasoning_tokens: 0 },
    });
    const settled = nextRecord();
    const heard = await sdk(url)
      .chat.completions.create({
        model: 'gpt-4o-audio-preview',
        max_tokens: 10,
        messages: [
          {
            role: 'user',
            content: [
              { type: 'text', text: 'Transcribe.' },
              { type: 'input_audio', input_audio: { data: audio.toString('base64'), format: 'wav' } },
            ],
          },
        ],
      })
      .withResponse();
    const reserved = LIMIT - Number(heard.response.headers.get('x-ratelimit-remaining-tokens'));
    expect(reserved).toBeGreaterThanOrEqual(60 + 10);
    expect(reserved).toBeLessThanOrEqual(60 + 10 + 'Transcribe.user'.length + 6);
    expect((await settled).usage).toEqual({
      prompt_tokens: 75,
      completion_tokens: 10,
      total_tokens: 85,
      audio_prompt_tokens: 60,
    });
    const file = await pdf(4);
    const read = await sdk(url)
      .chat.completions.create({
        model: 'gpt-4o',
        max_tokens: 10,
        messages: [
          {
            role: 'user',
            content: [
              { type: 'text', text: 'Summarize.' },
              { type: 'file', file: { filename: 'report.pdf', file_data: dataUrl('application/pdf', file) } },
            ],
          },
        ],
      })
      .withResponse();
    const reservedFile = LIMIT - 85 - Number(read.response.headers.get('x-ratelimit-remaining-tokens'));
    expect(reservedFile).toBeGreaterThanOrEqual(Math.ceil(file.length / 4) + 10);
    expect(reservedFile).toBeLessThanOrEqual(Math.ceil(file.length / 4) + 10 + 'Summarize.user'.length + 6);
  });

  it('answers bad media with an OpenAI-shaped 400, or reserves the bound, and keeps serving', async () => {
    const { url } = await hub({ listen: { maxBodySize: '40mb' } });
    const post = (body: unknown) =>
      request(`${url}/v1/chat/completions`, {
        method: 'POST',
        headers: { authorization: `Bearer ${ANN}`, 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
    const chat = (content: unknown[]) => ({ model: 'gpt-4o', max_tokens: 1, messages: [{ role: 'user', content }] });
    for (const url of ['data:image/png;base64,@@@@not base64@@@@', 'data:image/png,raw']) {
      const refused = await post(chat([{ type: 'image_url', image_url: { url } }]));
      expect(refused.status).toBe(400);
      expect(refused.json().error).toMatchObject({
        type: 'invalid_request_error',
        code: 'invalid_request',
        param: 'messages[0].content[0]',
      });
    }
    const tooMany = await post(
      chat(
        Array.from({ length: 501 }, () => ({
          type: 'image_url',
          image_url: { url: dataUrl('image/png', png(8, 8)), detail: 'low' },
        })),
      ),
    );
    expect(tooMany.status).toBe(400);
    expect(tooMany.json().error.message).toContain('at most 500 images');
    const huge = await post(
      chat([{ type: 'image_url', image_url: { url: dataUrl('image/png', Buffer.alloc(21 * 1024 * 1024)) } }]),
    );
    expect(huge.status).toBe(400);
    expect(huge.json().error.message).toContain('20 MB');
    expect(mock.received).toHaveLength(0);
    // truncated, lying and unknown images go through at the bound for one image (85 + 8 × 170)
    const lying = png(64, 64);
    lying.writeUInt32BE(100_000, 16);
    lying.writeUInt32BE(100_000, 20);
    for (const image of [
      dataUrl('image/png', png(64, 64).subarray(0, 20)),
      dataUrl('image/png', lying),
      dataUrl('image/tiff', Buffer.from('II*\0tiff')),
      'https://example.com/cat.png',
    ]) {
      const answered = await post(chat([{ type: 'image_url', image_url: { url: image } }]));
      expect(answered.status).toBe(200);
      const reserved = LIMIT - Number(answered.headers['x-ratelimit-remaining-tokens']);
      expect(reserved).toBeLessThanOrEqual(1445 + 1 + 10 + 200 * 4);
    }
    // 20 MB of audio: its header gives the duration at once; nothing is decoded whole
    const longAudio = wav(600, 16_000);
    const startedAt = performance.now();
    const heard = await post({
      model: 'gpt-4o-audio-preview',
      max_tokens: 1,
      messages: [
        {
          role: 'user',
          content: [{ type: 'input_audio', input_audio: { data: longAudio.toString('base64'), format: 'wav' } }],
        },
      ],
    });
    expect(heard.status).toBe(200);
    expect(performance.now() - startedAt).toBeLessThan(5000);
    expect(mock.received).toHaveLength(5);
  });
});

describe('each kind of token at its own price', () => {
  const mock = useMockUpstream();

  it('aifd usage --json prices audio and cached tokens by their own rates, from the records a daemon kept', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'aifd-multimodal-usage-'));
    try {
      const sink = path.join(dir, 'records.sqlite');
      const config = {
        upstreams: [{ name: 'openai', baseUrl: mock.url, keys: [POOL_KEY] }],
        auth: { forwardKeys: [{ key: ANN, user: 'ann', roles: [] }] },
        logs: { sink: `sqlite://${sink}` },
      };
      await writeFile(
        path.join(dir, 'hub.config.json'),
        JSON.stringify({ ...config, logs: { sink: 'sqlite://./records.sqlite' } }),
      );
      const running = await startHub({ ...config, logs: { sink: `sqlite://${sink}`, dir: path.join(dir, 'logs') } });
      const usage = {
        prompt_tokens: 1000,
        completion_tokens: 500,
        total_tokens: 1500,
        prompt_tokens_details: { cached_tokens: 200, audio_tokens: 600 },
        completion_tokens_details: { audio_tokens: 400, reasoning_tokens: 0 },
      };
      mock.always(POOL_KEY, {
        type: 'status',
        status: 200,
        body: JSON.stringify({
          id: 'chatcmpl-a',
          object: 'chat.completion',
          created: 1,
          model: 'gpt-4o-audio-preview',
          choices: [{ index: 0, message: { role: 'assistant', content: 'hi' }, finish_reason: 'stop' }],
          usage,
        }),
      });
      const client = new OpenAI({ apiKey: ANN, baseURL: running.baseURL(), maxRetries: 0 });
      await client.chat.completions.create({
        model: 'gpt-4o-audio-preview',
        messages: [{ role: 'user', content: 'hi' }],
      });
      await running.close();
      const result = await runCli(['usage', '--by', 'model', '--json'], { cwd: dir });
      expect(result.code).toBe(0);
      const [group] = JSON.parse(result.stdout).groups;
      expect(group).toMatchObject({
        group: 'gpt-4o-audio-preview',
        promptTokens: 1000,
        cachedTokens: 200,
        audioPromptTokens: 600,
        audioCompletionTokens: 400,
        unpriced: [],
      });
      // gpt-4o-audio-preview: text $2.50 in (no cached rate: input) and $10 out, audio $40 in and $80 out, per 1M
      const expected = (200 * 2.5 + 200 * 2.5 + 600 * 40 + 100 * 10 + 400 * 80) / 1_000_000;
      expect(group.costUsd).toBeCloseTo(expected, 10);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
