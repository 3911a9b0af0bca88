import { describe, expect, it } from 'vitest';
import { validate } from '../../src/config/load.js';
import { budgetWarnings, unpricedModels } from '../../src/limits/unpriced.js';

const config = (extra: Record<string, unknown>) =>
  validate(
    {
      upstreams: [
        { name: 'openai', baseUrl: 'http://127.0.0.1:9', models: ['gpt-4o*', 'gpt-4-32k', 'mistral-large'] },
        { name: 'local', baseUrl: 'http://127.0.0.1:10', models: ['llama3'] },
      ],
      aliases: { smart: 'gpt-4o', cheap: [{ upstream: 'local', model: 'llama3' }, 'gpt-3.5-turbo'] },
      ...extra,
    },
    'test config',
  );

describe('models a USD budget cannot price', () => {
  it('are the ones the config names literally and the price table lacks', () => {
    expect(unpricedModels(config({})).sort()).toEqual(['gpt-4-32k', 'llama3', 'mistral-large']);
    expect(
      unpricedModels(config({ prices: { llama3: { input: 0, output: 0 }, 'mistral-*': { input: 2, output: 6 } } })),
    ).toEqual(['gpt-4-32k']);
  });

  it('are warned about at start: refused under deny, uncounted under allow, nothing without budgets', () => {
    expect(budgetWarnings(config({}))).toEqual([]);
    const deny = budgetWarnings(config({ limits: { budgets: { users: { '*': { daily: 1 } } } } }));
    expect(deny).toHaveLength(1);
    expect(deny[0]).toMatch(/refused to callers with a USD budget: gpt-4-32k, mistral-large, llama3/);
    const allow = budgetWarnings(config({ limits: { budgets: { unpriced: 'allow', users: { '*': { daily: 1 } } } } }));
    expect(allow[0]).toMatch(/not counted against USD budgets \(the config names gpt-4-32k, mistral-large, llama3\)/);
    const allowAllPriced = budgetWarnings(
      validate({ upstreams: [{ name: 'o', baseUrl: 'http://h' }], limits: { budgets: { unpriced: 'allow' } } }, 'test'),
    );
    expect(allowAllPriced[0]).toContain('budgets.unpriced is "allow"');
  });
});
