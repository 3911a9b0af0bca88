import { describe, expect, it } from 'vitest';
import { AifdError } from '../../src/errors.js';
import { audioTokens, fileTokens, FILE_ID_TOKENS, imageTokens, imageUrlTokens } from '../../src/usage/media-tokens.js';
import { countPrompt, promptParts } from '../../src/usage/estimate.js';
import { inspectBody, type BodyInfo } from '../../src/proxy/inspect-body.js';

/** The exact estimate of a body, walked where it lies in its bytes as on the request path. */
const estimatePrompt = (model: string, body: Record<string, unknown>) =>
  countPrompt(promptParts(model, jsonBody(body)));
const jsonBody = (body: Record<string, unknown>) =>
  (inspectBody('application/json', Buffer.from(JSON.stringify(body)), '/v1/chat/completions') as BodyInfo).json;
import { dataUrl, jpegImage, jpegWithMetadata, pdf, png, wav } from '../helpers/media.js';

describe("OpenAI's image token rules", () => {
  it("tile rule: the guide's own examples", () => {
    expect(imageTokens('gpt-4o', { width: 1024, height: 1024 }, 'high')).toBe(765);
    expect(imageTokens('gpt-4o', { width: 2048, height: 4096 }, 'high')).toBe(1105);
    expect(imageTokens('gpt-4o', { width: 4096, height: 8192 }, 'low')).toBe(85);
    expect(imageTokens('gpt-4o-mini', { width: 1024, height: 1024 }, 'high')).toBe(2833 + 4 * 5667);
    expect(imageTokens('o1', { width: 1024, height: 1024 })).toBe(75 + 4 * 150);
  });

  it("patch rule: the guide's own examples, times each model's multiplier", () => {
    expect(imageTokens('gpt-4.1-mini', { width: 1024, height: 1024 })).toBe(Math.ceil(1024 * 1.62));
    expect(imageTokens('gpt-5-nano', { width: 1800, height: 2400 })).toBe(Math.ceil(1452 * 2.46));
    expect(imageTokens('o4-mini', { width: 20, height: 20 })).toBe(Math.ceil(1 * 1.72));
  });

  it('an image of unknown size is reserved at the most one image can cost on the model', () => {
    expect(imageTokens('gpt-4o', undefined)).toBe(85 + 8 * 170);
    expect(imageTokens('gpt-5-mini', undefined)).toBe(Math.ceil(1536 * 1.62));
    for (const [width, height] of [
      [768, 2048],
      [5000, 5000],
      [100, 30000],
    ] as const) {
      expect(imageTokens('gpt-4o', { width, height })).toBeLessThanOrEqual(imageTokens('gpt-4o', undefined));
      expect(imageTokens('gpt-5-mini', { width, height })).toBeLessThanOrEqual(imageTokens('gpt-5-mini', undefined));
    }
  });

  it('reads a data: URL by its header; an http URL or an unknown type is the bound', () => {
    expect(imageUrlTokens('gpt-4o', dataUrl('image/png', png(1024, 1024)), 'high', 'x')).toBe(765);
    expect(imageUrlTokens('gpt-4o', dataUrl('image/jpeg', jpegWithMetadata(1024, 1024, 200_000)), 'auto', 'x')).toBe(
      765,
    );
    expect(imageUrlTokens('gpt-4o', dataUrl('image/jpeg', jpegImage(300, 200)), 'low', 'x')).toBe(85);
    expect(imageUrlTokens('gpt-4o', 'https://example.com/cat.png', 'high', 'x')).toBe(1445);
    expect(imageUrlTokens('gpt-4o', dataUrl('image/tiff', Buffer.from('II*\0 tiff bytes')), 'high', 'x')).toBe(1445);
    expect(imageUrlTokens('gpt-4o', dataUrl('image/png', png(64, 64).subarray(0, 20)), 'high', 'x')).toBe(1445);
  });

  it('refuses a data: URL that is not base64, and an image over 20 MB, as OpenAI does', () => {
    const refusal = (url: string) => {
      try {
        imageUrlTokens('gpt-4o', url, 'auto', 'messages[0].content[1]');
      } catch (err) {
        return err as AifdError;
      }
      throw new Error('not refused');
    };
    for (const url of ['data:image/png;base64,@@@not-base64@@@', 'data:image/png,raw-bytes-here']) {
      const error = refusal(url);
      expect(error.code).toBe('invalid_request');
      expect(error.status).toBe(400);
      expect(error.param).toBe('messages[0].content[1]');
    }
    expect(refusal(`data:image/png;base64,${'A'.repeat(28 * 1024 * 1024)}`).message).toContain('20 MB');
  });
});

describe('audio and files', () => {
  it('counts audio by its duration at 10 tokens a second, and bounds what it cannot read', () => {
    expect(audioTokens(wav(3).toString('base64'), 'wav', 'x')).toBe(30);
    expect(audioTokens(wav(12.34).toString('base64'), undefined, 'x')).toBe(124);
    const mp3 = Buffer.concat([Buffer.from([0xff, 0xfb, 0x90, 0x64]), Buffer.alloc(160_000 - 4)]);
    expect(audioTokens(mp3.toString('base64'), 'mp3', 'x')).toBe(100);
    // unknown bytes: as if 8 kbit/s, the leanest audio anyone sends
    expect(audioTokens(Buffer.alloc(50_000, 7).toString('base64'), 'flac', 'x')).toBe(500);
  });

  it('bounds a file by its size (a token per 4 bytes), and a file id by a fixed figure', async () => {
    const file = await pdf(3);
    expect(fileTokens(dataUrl('application/pdf', file), undefined, 'x')).toBe(Math.ceil(file.length / 4));
    expect(fileTokens(file.toString('base64'), undefined, 'x')).toBe(Math.ceil(file.length / 4));
    expect(fileTokens(undefined, 'file-abc123', 'x')).toBe(FILE_ID_TOKENS);
  });
});

describe('a prompt with media', () => {
  it('counts each part by its own rule: a 300 KB PNG is a few hundred tokens, not 280,000', async () => {
    const image = png(300, 250, true);
    expect(image.length).toBeGreaterThan(250_000);
    const estimate = await estimatePrompt('gpt-4o', {
      messages: [
        {
          role: 'user',
          content: [
            { type: 'text', text: 'What is in this picture?' },
            { type: 'image_url', image_url: { url: dataUrl('image/png', image) } },
          ],
        },
      ],
    });
    expect(estimate.imageTokens).toBe(85 + 170);
    expect(estimate.tokens).toBeGreaterThan(255);
    expect(estimate.tokens).toBeLessThan(300);
  });

  it('reads the Responses API input items and embeddings given as token arrays', async () => {
    const responses = await estimatePrompt('gpt-4.1-mini', {
      instructions: 'Be brief.',
      input: [
        {
          role: 'user',
          content: [
            { type: 'input_text', text: 'Compare these.' },
            { type: 'input_image', image_url: dataUrl('image/jpeg', jpegImage(1024, 1024)) },
            { type: 'input_file', file_data: dataUrl('application/pdf', Buffer.alloc(4000, 1)) },
          ],
        },
      ],
    });
    expect(responses.imageTokens).toBe(Math.ceil(1024 * 1.62));
    expect(responses.tokens).toBeGreaterThan(responses.imageTokens + 1000);
    expect(
      (
        await estimatePrompt('text-embedding-3-small', {
          input: [
            [1, 2, 3, 4],
            [5, 6],
          ],
        })
      ).tokens,
    ).toBe(6);
    expect((await estimatePrompt('text-embedding-3-small', { input: [1, 2, 3] })).tokens).toBe(3);
    const audio = await estimatePrompt('gpt-4o-audio-preview', {
      messages: [
        {
          role: 'user',
          content: [{ type: 'input_audio', input_audio: { data: wav(5).toString('base64'), format: 'wav' } }],
        },
      ],
    });
    expect(audio.audioTokens).toBe(50);
  });

  it('refuses more than 500 images in one request', async () => {
    const url = dataUrl('image/png', png(16, 16));
    const many = (count: number) => ({
      messages: [
        {
          role: 'user',
          content: Array.from({ length: count }, () => ({ type: 'image_url', image_url: { url, detail: 'low' } })),
        },
      ],
    });
    expect((await estimatePrompt('gpt-4o', many(500))).imageTokens).toBe(500 * 85);
    const error = await Promise.resolve()
      .then(() => estimatePrompt('gpt-4o', many(501)))
      .catch((err: unknown) => err as AifdError);
    expect(error).toBeInstanceOf(AifdError);
    expect((error as AifdError).message).toContain('at most 500 images');
  });
});
