/**
 * What tokens cost, per model, in USD per million tokens. The built-in table holds OpenAI's list
 * prices for common models as of 2025 (standard tier); `prices` in the config overrides or adds.
 * Model names match exactly first, then by the longest glob.
 */
import type { PriceConfig } from '../config/schema.js';
import { globMatch } from '../util/glob.js';
import type { Usage } from './usage.js';

export type PriceTable = Record<string, PriceConfig>;

export const BUILT_IN_PRICES: PriceTable = {
  'gpt-4o': { input: 2.5, output: 10, cachedInput: 1.25 },
  'gpt-4o-2024-*': { input: 2.5, output: 10, cachedInput: 1.25 },
  'gpt-4o-mini*': { input: 0.15, output: 0.6, cachedInput: 0.075 },
  'gpt-4.1': { input: 2, output: 8, cachedInput: 0.5 },
  'gpt-4.1-2025-*': { input: 2, output: 8, cachedInput: 0.5 },
  'gpt-4.1-mini*': { input: 0.4, output: 1.6, cachedInput: 0.1 },
  'gpt-4.1-nano*': { input: 0.1, output: 0.4, cachedInput: 0.025 },
  'o3-mini*': { input: 1.1, output: 4.4, cachedInput: 0.55 },
  'o4-mini*': { input: 1.1, output: 4.4, cachedInput: 0.275 },
  'gpt-3.5-turbo*': { input: 0.5, output: 1.5 },
  'text-embedding-3-small': { input: 0.02, output: 0 },
  'text-embedding-3-large': { input: 0.13, output: 0 },
  'text-embedding-ada-002': { input: 0.1, output: 0 },
};

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

/** USD for the given token counts, or undefined when the model has no price. */
export function costOf(table: PriceTable, model: string, usage: Pick<Usage, 'prompt_tokens' | 'completion_tokens' | 'cached_tokens'>): number | undefined {
  const price = priceFor(table, model);
  if (!price) return undefined;
  const cached = usage.cached_tokens ?? 0;
  const uncached = Math.max(0, usage.prompt_tokens - cached);
  return (uncached * price.input + cached * (price.cachedInput ?? price.input) + usage.completion_tokens * price.output) / 1_000_000;
}
