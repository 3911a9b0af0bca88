import { afterAll, afterEach, beforeAll } from 'vitest';
import { MockUpstream } from '../mock-upstream/mock-upstream.js';

/**
 * A mock upstream for the enclosing describe block: listening before its tests, reset after each
 * (after the block's own afterEach hooks, which run first), closed after all.
 */
export function useMockUpstream(): MockUpstream {
  const mock = new MockUpstream();
  beforeAll(async () => {
    await mock.start();
  });
  afterEach(() => mock.reset());
  afterAll(() => mock.close());
  return mock;
}
