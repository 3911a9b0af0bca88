import { describe, expect, it } from 'vitest';
import {
  ANTHROPIC_PRICES_SOURCE,
  BUILT_IN_PRICES_SOURCE,
  costOf,
  priceFor,
  priceTable,
} from '../../src/usage/prices.js';

describe('the built-in price table', () => {
  it('names its source and the date it was read, and covers the current models', () => {
    expect(BUILT_IN_PRICES_SOURCE.source).toMatch(/^https:\/\/developers\.openai\.com\//);
    expect(BUILT_IN_PRICES_SOURCE.retrieved).toMatch(/^\d{4}-\d{2}-\d{2}$/);
    const table = priceTable(undefined);
    for (const model of [
      'gpt-5',
      'gpt-5-mini-2025-08-07',
      'gpt-5-nano',
      'o3',
      'o1',
      'o4-mini',
      'gpt-4.1',
      'gpt-4o-2024-08-06',
      'gpt-4',
      'gpt-4-turbo',
      'gpt-realtime',
      'gpt-4o-realtime-preview',
      'gpt-4o-audio-preview',
      'text-embedding-3-small',
    ]) {
      expect(priceFor(table, model), model).toBeDefined();
    }
    expect(priceFor(table, 'gpt-realtime')).toMatchObject({ audioInput: 32, audioOutput: 64, imageInput: 5 });
  });

  it("prices Claude's models, cache reads and 5-minute and 1-hour cache writes at their own rates", () => {
    expect(ANTHROPIC_PRICES_SOURCE.source).toMatch(/^https:\/\/platform\.claude\.com\//);
    const table = priceTable(undefined);
    for (const model of [
      'claude-opus-4-5-20251101',
      'claude-sonnet-4-5-20250929',
      'claude-haiku-4-5-20251001',
      'claude-opus-5',
    ])
      expect(priceFor(table, model), model).toBeDefined();
    expect(priceFor(table, 'claude-opus-4-1-20250805')).toMatchObject({ input: 15, output: 75 });
    // 1000 prompt tokens: 600 read from the cache, 300 written (100 of them for an hour), 100 plain; 20 out.
    const usage = {
      prompt_tokens: 1000,
      completion_tokens: 20,
      cached_tokens: 600,
      cache_write_tokens: 300,
      cache_write_1h_tokens: 100,
    };
    const micro = 100 * 3 + 600 * 0.3 + 200 * 3.75 + 100 * 6 + 20 * 15;
    expect(costOf(table, 'claude-sonnet-4-5-20250929', usage)).toBeCloseTo(micro / 1e6, 12);
  });

  it('prices each kind of token at its own rate, and the config overrides', () => {
    const table = priceTable({
      'my-model': {
        input: 1,
        output: 2,
        cachedInput: 0.5,
        audioInput: 10,
        cachedAudioInput: 0.2,
        audioOutput: 20,
        imageInput: 3,
      },
    });
    // 1,000 prompt tokens: 600 text, 300 audio, 100 image; 700 cached: all the text first, then 100 of the audio
    const cost = costOf(table, 'my-model', {
      prompt_tokens: 1000,
      completion_tokens: 500,
      cached_tokens: 700,
      audio_prompt_tokens: 300,
      image_prompt_tokens: 100,
      audio_completion_tokens: 200,
    });
    const expected = (600 * 0.5 + 200 * 10 + 100 * 0.2 + 100 * 3 + 300 * 2 + 200 * 20) / 1_000_000;
    expect(cost).toBeCloseTo(expected, 12);
    // Realtime says how many of the cached tokens were audio: they are priced as such, not text first.
    const known = costOf(table, 'my-model', {
      prompt_tokens: 1000,
      completion_tokens: 500,
      cached_tokens: 700,
      cached_audio_tokens: 250,
      audio_prompt_tokens: 300,
      image_prompt_tokens: 100,
      audio_completion_tokens: 200,
    });
    const knownExpected = (450 * 0.5 + 150 * 1 + 250 * 0.2 + 50 * 10 + 100 * 3 + 300 * 2 + 200 * 20) / 1_000_000;
    expect(known).toBeCloseTo(knownExpected, 12);
    expect(costOf(table, 'unknown-model', { prompt_tokens: 1, completion_tokens: 1 })).toBeUndefined();
    // without audio rates, audio is billed as text
    expect(
      costOf(priceTable({ plain: { input: 1, output: 2 } }), 'plain', {
        prompt_tokens: 100,
        completion_tokens: 0,
        audio_prompt_tokens: 100,
      }),
    ).toBeCloseTo(100 / 1_000_000, 12);
  });
});
