/** `aifd usage`: per-group requests, tokens and cost from the SQL sink's rows. */
import type { UsageRow } from '../logs/sinks/dialect.js';
import { costOf, type PriceTable } from './prices.js';

export interface UsageGroup {
  group: string;
  requests: number;
  errors: number;
  promptTokens: number;
  completionTokens: number;
  cachedTokens: number;
  costUsd: number;
  /** Models in this group without a price (their tokens are not in the cost). */
  unpriced: string[];
  /** Requests for those models: their cost is unknown, not $0. */
  unpricedRequests: number;
}

export function buildUsageReport(rows: readonly UsageRow[], prices: PriceTable): UsageGroup[] {
  const groups = new Map<string, UsageGroup>();
  for (const row of rows) {
    let group = groups.get(row.group);
    if (!group) groups.set(row.group, (group = { group: row.group, requests: 0, errors: 0, promptTokens: 0, completionTokens: 0, cachedTokens: 0, costUsd: 0, unpriced: [], unpricedRequests: 0 }));
    group.requests += row.requests;
    group.errors += row.errors;
    group.promptTokens += row.promptTokens;
    group.completionTokens += row.completionTokens;
    group.cachedTokens += row.cachedTokens;
    const cost = costOf(prices, row.model, { prompt_tokens: row.promptTokens, completion_tokens: row.completionTokens, cached_tokens: row.cachedTokens });
    if (cost !== undefined) group.costUsd += cost;
    else if (row.promptTokens + row.completionTokens > 0) {
      group.unpricedRequests += row.requests - row.errors;
      if (!group.unpriced.includes(row.model)) group.unpriced.push(row.model);
    }
  }
  return [...groups.values()].sort((a, b) => b.costUsd - a.costUsd || b.requests - a.requests);
}
