import { describe, expect, it } from 'vitest';
import { requestId } from '../../src/util/request-id.js';

const UUID_V7 = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

function millisecondsOf(id: string): number {
  return parseInt(id.slice(0, 8) + id.slice(9, 13), 16);
}

describe('requestId', () => {
  it('is a version 7 UUID carrying the time it was made at', () => {
    const at = Date.UTC(2026, 10, 30, 2, 30, 0, 123);
    const id = requestId(at);
    expect(id).toMatch(UUID_V7);
    expect(millisecondsOf(id)).toBe(at);
    expect(requestId(0)).toMatch(/^00000000-0000-7/);
  });

  it('sorts by time, and ids of one millisecond still differ', () => {
    const earlier = requestId(1_700_000_000_000);
    const later = requestId(1_700_000_000_001);
    expect(earlier < later).toBe(true);
    const same = new Set(Array.from({ length: 1000 }, () => requestId(1_700_000_000_000)));
    expect(same.size).toBe(1000);
    for (const id of same) expect(id).toMatch(UUID_V7);
  });
});
