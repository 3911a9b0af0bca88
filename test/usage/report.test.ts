import { describe, expect, it } from 'vitest';
import type { UsageRow } from '../../src/logs/sinks/dialect.js';
import { priceTable } from '../../src/usage/prices.js';
import { buildUsageReport } from '../../src/usage/report.js';

const row = (over: Partial<UsageRow>): UsageRow => ({
  group: 'ann',
  model: 'gpt-4o-mini',
  requests: 1,
  promptTokens: 1_000_000,
  completionTokens: 0,
  cachedTokens: 0,
  audioPromptTokens: 0,
  audioCompletionTokens: 0,
  imagePromptTokens: 0,
  reasoningTokens: 0,
  cacheWriteTokens: 0,
  cacheWrite1hTokens: 0,
  errors: 0,
  fromCache: false,
  ...over,
});

describe('aifd usage, priced', () => {
  it('counts answers from the cache as requests and tokens, at no cost: no upstream billed them', () => {
    const prices = priceTable({ 'gpt-4o-mini': { input: 2, output: 0 } });
    const [ann] = buildUsageReport([row({}), row({ fromCache: true, requests: 3, promptTokens: 3_000_000 })], prices);
    expect(ann).toMatchObject({ requests: 4, promptTokens: 4_000_000, costUsd: 2, unpricedRequests: 0 });
  });
});
