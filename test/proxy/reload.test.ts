import { describe, expect, it } from 'vitest';
import { planReload } from '../../src/proxy/reload.js';
import { validate } from '../../src/config/load.js';

const base = {
  store: 'redis://127.0.0.1:6379',
  auth: { anonymous: true },
  upstreams: [{ name: 'openai', baseUrl: 'http://127.0.0.1:1' }],
};

describe('what a reload changes', () => {
  it('keeps the restart-only sections running and names the ones the new file changes', () => {
    const running = validate({ ...base, listen: { port: 8000 } }, 'running');
    const next = validate({ ...base, listen: { port: 9000 }, acl: { default: 'deny', rules: [] } }, 'next');
    const plan = planReload(running, next);
    expect(plan.needRestart).toEqual(['listen']);
    expect(plan.config.listen.port).toBe(8000);
    expect(plan.config.acl?.default).toBe('deny');
  });

  it('keeps limits.onStoreDown as the open Redis counters have it, and says so', () => {
    const running = validate({ ...base, limits: { global: '10/hour', onStoreDown: 'open' } }, 'running');
    const next = validate({ ...base, limits: { global: '20/hour', onStoreDown: 'closed' } }, 'next');
    const plan = planReload(running, next, 'open');
    expect(plan.needRestart).toEqual(['limits.onStoreDown']);
    expect(plan.config.limits).toMatchObject({ global: '20/hour', onStoreDown: 'open' });
    // Counters not open yet (no limits so far, or not on Redis): the new value simply applies.
    expect(planReload(running, next).config.limits?.onStoreDown).toBe('closed');
  });
});
