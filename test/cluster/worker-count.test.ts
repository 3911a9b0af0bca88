import { describe, expect, it } from 'vitest';
import { workerCount } from '../../src/cluster/worker-count.js';

describe('how many workers', () => {
  it('auto is one per core; up to four per core is taken; more is refused with the reason', () => {
    expect(workerCount('auto', 6)).toEqual({ ok: true, workers: 6 });
    expect(workerCount(8, 2)).toEqual({ ok: true, workers: 8 });
    const refused = workerCount(9, 2);
    expect(refused.ok).toBe(false);
    expect(!refused.ok && refused.error).toContain('more than 8 (4 per core on this machine of 2)');
    expect(workerCount(4, 1)).toEqual({ ok: true, workers: 4 });
  });
});
