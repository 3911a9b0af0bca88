/**
 * What USD budgets cannot price: the models the config names (upstream and pool-key globs, alias
 * targets) that the price table lacks, and the start-up warnings about them.
 */
import type { HubConfig } from '../config/schema.js';
import { priceFor, priceTable } from '../usage/prices.js';

/** Models the config names literally (globs cannot be judged: they stand for models unknown yet) without a price. */
export function unpricedModels(config: HubConfig): string[] {
  const table = priceTable(config.prices);
  const named = new Set<string>();
  for (const upstream of config.upstreams) {
    for (const glob of upstream.models ?? []) named.add(glob);
    for (const key of upstream.keys) if (typeof key === 'object') for (const glob of key.models ?? []) named.add(glob);
  }
  for (const targets of Object.values(config.aliases ?? {})) {
    for (const target of Array.isArray(targets) ? targets : [targets])
      named.add(typeof target === 'string' ? target : target.model);
  }
  return [...named].filter((name) => !/[*?]/.test(name) && !priceFor(table, name));
}

/** One line per way a USD budget could be escaped or refuse more than the operator expects. */
export function budgetWarnings(config: HubConfig): string[] {
  const budgets = config.limits?.budgets;
  if (!budgets) return [];
  const unpriced = unpricedModels(config);
  const named = unpriced.length > 0 ? ` (the config names ${unpriced.join(', ')})` : '';
  if (budgets.unpriced === 'allow') {
    return [
      `budgets.unpriced is "allow": requests for models without a price are not counted against USD budgets${named}; add them under "prices"`,
    ];
  }
  if (unpriced.length === 0) return [];
  return [
    `models without a price are refused to callers with a USD budget: ${unpriced.join(', ')}; add them under "prices", or set budgets.unpriced to "allow"`,
  ];
}
