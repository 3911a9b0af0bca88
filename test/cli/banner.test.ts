import { describe, expect, it } from 'vitest';
import { renderBanner } from '../../src/cli/banner.js';
import { validate } from '../../src/config/load.js';

const bannerFor = (limits: unknown) =>
  renderBanner({
    version: 'test',
    config: validate({ upstreams: [{ name: 'openai', baseUrl: 'http://127.0.0.1:9' }], limits }, 'test config'),
    configFile: 'hub.config.json',
    address: 'http://127.0.0.1:8000',
    adminAddress: undefined,
    storeLocation: 'memory',
  });

describe('the banner', () => {
  it('shows a limit of each kind, even when it is the only one', () => {
    const only: [unknown, RegExp][] = [
      [
        { routes: { '/v1/chat/completions': '100/2minutes' } },
        /route\s+\/v1\/chat\/completions 100\/2minutes \(shared by all callers\)/,
      ],
      [{ routesPerUser: { '/v1/embeddings': '10/minute' } }, /route\s+\/v1\/embeddings 10\/minute per user/],
      [{ streamTokenRate: '60/second' }, /stream\s+60\/second events per stream/],
      [{ budgets: { users: { '*': { daily: 5, monthly: 50 } } } }, /budget\s+user \*: \$5 daily, \$50 monthly/],
      [{ roles: { intern: { tokens: '20000/day' } } }, /role intern\s+20000\/day tokens per member/],
      [{ ip: '30/minute', ipAppliesTo: 'all' }, /ip\s+30\/minute per address \(every caller/],
      [
        { user: { requests: '60/minute', tokens: '1000/day' } },
        /user\s+60\/minute requests, 1000\/day tokens per user/,
      ],
      [{ global: '1000/minute' }, /global\s+1000\/minute/],
    ];
    for (const [limits, shown] of only) {
      const banner = bannerFor(limits);
      expect(banner).not.toMatch(/limits\s+none/);
      expect(banner).toMatch(shown);
    }
  });

  it('names the strategy, the budget calendar and what happens to unpriced models', () => {
    const banner = bannerFor({
      strategy: 'fixed-window',
      budgets: { timezone: 'Europe/Berlin', unpriced: 'allow', roles: { dev: { weekly: 20 } } },
    });
    expect(banner).toMatch(/limits\s+fixed-window/);
    expect(banner).toContain('role dev: $20 weekly');
    expect(banner).toContain('calendar Europe/Berlin; models without a price let through uncounted');
  });

  it('says none when no limit is set', () => {
    expect(bannerFor(undefined)).toMatch(/limits\s+none/);
    expect(bannerFor({})).toMatch(/limits\s+none/);
  });

  it('names what it was configured from, and the openai-forward variables a config file makes it ignore', () => {
    const config = validate({ upstreams: [{ name: 'openai', baseUrl: 'http://127.0.0.1:9' }] }, 'test config');
    const facts = {
      version: 'test',
      config,
      address: 'http://127.0.0.1:8000',
      adminAddress: undefined,
      storeLocation: 'memory',
    };
    expect(
      renderBanner({
        ...facts,
        configFile: 'hub.config.json',
        ignoredVariables: ['OPENAI_API_KEY', 'FORWARD_KEY'],
        envFile: '.env',
      }),
    ).toMatch(
      /config\s+hub\.config\.json \(\+ \.env\)\n\s+ignored\s+OPENAI_API_KEY, FORWARD_KEY \(openai-forward variables; the config file wins\)/,
    );
    expect(renderBanner({ ...facts, configFile: undefined, fromVariables: ['OPENAI_API_KEY', 'FORWARD_KEY'] })).toMatch(
      /config\s+openai-forward variables: OPENAI_API_KEY, FORWARD_KEY/,
    );
  });
});
