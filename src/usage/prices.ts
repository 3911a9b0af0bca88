/**
 * What tokens cost, per model, in USD per million tokens: the built-in tables (`prices.json`,
 * OpenAI's list prices, and `prices-anthropic.json`, Anthropic's, each with its source and date)
 * under the config's `prices`, which override or add. Model names match exactly first, then by the
 * longest glob.
 */
import type { PriceConfig } from '../config/schema.js';
import { globMatch } from '../util/glob.js';
import builtIn from './prices.json' with { type: 'json' };
import anthropic from './prices-anthropic.json' with { type: 'json' };
import type { Usage } from './usage.js';

export type PriceTable = Record<string, PriceConfig>;

const BUILT_IN_PRICES: PriceTable = { ...builtIn.models, ...anthropic.models };

/** Where the built-in prices come from, and when they were read. */
export const BUILT_IN_PRICES_SOURCE = { source: builtIn.source, retrieved: builtIn.retrieved };
export const ANTHROPIC_PRICES_SOURCE = { source: anthropic.source, retrieved: anthropic.retrieved };

export function priceTable(overrides: PriceTable | undefined): PriceTable {
  return { ...BUILT_IN_PRICES, ...overrides };
}

/** Each table's answers by model: a glob search over the table costs microseconds on every request. */
const resolved = new WeakMap<PriceTable, Map<string, PriceConfig | undefined>>();
/** Model names come from clients; past this many, a table's answers start over. */
const MAX_RESOLVED = 1000;

export function priceFor(table: PriceTable, model: string): PriceConfig | undefined {
  let answers = resolved.get(table);
  if (!answers) resolved.set(table, (answers = new Map()));
  if (answers.has(model)) return answers.get(model);
  if (answers.size >= MAX_RESOLVED) answers.clear();
  const price = searchPrice(table, model);
  answers.set(model, price);
  return price;
}

function searchPrice(table: PriceTable, model: string): PriceConfig | undefined {
  if (table[model]) return table[model];
  let best: { pattern: string; price: PriceConfig } | undefined;
  for (const [pattern, price] of Object.entries(table)) {
    if (!globMatch(pattern, model)) continue;
    if (!best || pattern.length > best.pattern.length) best = { pattern, price };
  }
  return best?.price;
}

/** The counts a cost is computed from: usage as the upstream reports it, or a reservation's estimate. */
export type PricedUsage = Pick<Usage, 'prompt_tokens' | 'completion_tokens'> &
  Partial<
    Pick<
      Usage,
      | 'cached_tokens'
      | 'cached_audio_tokens'
      | 'audio_prompt_tokens'
      | 'image_prompt_tokens'
      | 'audio_completion_tokens'
      | 'cache_write_tokens'
      | 'cache_write_1h_tokens'
    >
  >;

/**
 * USD for the given token counts, or undefined when the model has no price. Each kind of token is
 * billed at its own rate: audio and image prompt tokens and audio completion tokens are parts of
 * prompt_tokens and completion_tokens, and so are cache writes (Anthropic's). Cached audio tokens
 * are priced as such where the answer says how many there were (Realtime); otherwise cached tokens
 * count as text first.
 */
export function costOf(table: PriceTable, model: string, usage: PricedUsage): number | undefined {
  const price = priceFor(table, model);
  if (!price) return undefined;
  const audioIn = usage.audio_prompt_tokens ?? 0;
  const imageIn = usage.image_prompt_tokens ?? 0;
  // Cache writes are text (Anthropic's), billed at their own rates, the hour-long ones at theirs.
  const written = Math.min(usage.cache_write_tokens ?? 0, Math.max(0, usage.prompt_tokens - audioIn - imageIn));
  const writtenHour = Math.min(usage.cache_write_1h_tokens ?? 0, written);
  const writeRate = price.cacheWriteInput ?? price.input;
  const textIn = Math.max(0, usage.prompt_tokens - audioIn - imageIn - written);
  const cached = usage.cached_tokens ?? 0;
  const knownAudio = usage.cached_audio_tokens;
  const cachedText = Math.min(knownAudio === undefined ? cached : cached - Math.min(knownAudio, cached), textIn);
  const cachedAudio = Math.min(knownAudio ?? cached - cachedText, audioIn);
  const audioOut = Math.min(usage.audio_completion_tokens ?? 0, usage.completion_tokens);
  const cachedRate = price.cachedInput ?? price.input;
  const micro =
    (textIn - cachedText) * price.input +
    cachedText * cachedRate +
    (audioIn - cachedAudio) * (price.audioInput ?? price.input) +
    cachedAudio * (price.cachedAudioInput ?? cachedRate) +
    imageIn * (price.imageInput ?? price.input) +
    (written - writtenHour) * writeRate +
    writtenHour * (price.cacheWrite1hInput ?? writeRate) +
    (usage.completion_tokens - audioOut) * price.output +
    audioOut * (price.audioOutput ?? price.output);
  return micro / 1_000_000;
}

/**
 * What an upstream billed for one recorded request: its usage at the model's price; nothing for an
 * answer from aifd's cache (its usage is what it saved) or one without usage; undefined when the
 * model has no price.
 */
export function billedCost(
  table: PriceTable,
  record: { readonly usage: Usage | null; readonly model: string | null; readonly cache: string | null },
): number | undefined {
  if (!record.usage || !record.model || record.cache === 'hit') return 0;
  return costOf(table, record.model, record.usage);
}
