/** The short soak in `npm test`: the same run as `npm run test:soak`, 4,000 requests instead of 200,000. */
import { describe, expect, it } from 'vitest';
import { runSoak, soakProblems } from './soak.js';

describe('short soak', () => {
  it('4,000 mixed requests: every one answered as it should and recorded, no leaked sockets or timers', async () => {
    const result = await runSoak({ requests: 4000, concurrency: 20, warmup: 1000 });
    expect(result.sent).toBe(4000);
    expect(result.byKind.abort).toBe(200);
    // Memory is noisy over a few seconds; the long soak holds it to 10 %.
    expect(soakProblems(result, 0.5)).toEqual([]);
  }, 60_000);
});
