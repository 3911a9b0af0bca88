/** `aifd usage`: per-group requests, tokens and cost from the SQL sink's rows. */
import type { UsageRow } from '../logs/sinks/dialect.js';
import { costOf, type PriceTable } from './prices.js';

/**
 * A group's rows summed over its models (token kinds as the sink counts them, answers from aifd's
 * cache included), and priced at what upstreams billed: a cache hit costs nothing.
 */
export interface UsageGroup extends Omit<UsageRow, 'model' | 'fromCache'> {
  /** Each kind of token at its own rate. */
  costUsd: number;
  /** Models in this group without a price (their tokens are not in the cost). */
  unpriced: string[];
  /** Requests for those models: their cost is unknown, not $0. */
  unpricedRequests: number;
}

const SUMMED = [
  'requests',
  'errors',
  'promptTokens',
  'completionTokens',
  'cachedTokens',
  'audioPromptTokens',
  'audioCompletionTokens',
  'imagePromptTokens',
  'reasoningTokens',
  'cacheWriteTokens',
  'cacheWrite1hTokens',
] as const;

export function buildUsageReport(rows: readonly UsageRow[], prices: PriceTable): UsageGroup[] {
  const groups = new Map<string, UsageGroup>();
  for (const row of rows) {
    let group = groups.get(row.group);
    if (!group) {
      group = { group: row.group, costUsd: 0, unpriced: [], unpricedRequests: 0 } as unknown as UsageGroup;
      for (const field of SUMMED) group[field] = 0;
      groups.set(row.group, group);
    }
    for (const field of SUMMED) group[field] += row[field];
    if (row.fromCache) continue;
    const cost = costOf(prices, row.model, {
      prompt_tokens: row.promptTokens,
      completion_tokens: row.completionTokens,
      cached_tokens: row.cachedTokens,
      audio_prompt_tokens: row.audioPromptTokens,
      audio_completion_tokens: row.audioCompletionTokens,
      image_prompt_tokens: row.imagePromptTokens,
      cache_write_tokens: row.cacheWriteTokens,
      cache_write_1h_tokens: row.cacheWrite1hTokens,
    });
    if (cost !== undefined) group.costUsd += cost;
    else if (row.promptTokens + row.completionTokens > 0) {
      group.unpricedRequests += row.requests - row.errors;
      if (!group.unpriced.includes(row.model)) group.unpriced.push(row.model);
    }
  }
  return [...groups.values()].sort((a, b) => b.costUsd - a.costUsd || b.requests - a.requests);
}
