import { describe, expect, it } from 'vitest';
import { mergeStoredState } from '../../src/keys/key-store.js';

describe('a key state saved by several workers', () => {
  const base = {
    status: 'ok' as const,
    statusAt: 100,
    probeAfterCooling: false,
    consecutiveFailures: 0,
    requests: 10,
    promptTokens: 100,
    completionTokens: 50,
    lastUsedAt: 1000,
    reason: undefined,
    until: undefined,
    lastError: undefined,
    lastErrorAt: undefined,
  };

  it('adds the counts up and keeps the newer status', () => {
    const revoked = { ...base, status: 'revoked' as const, statusAt: 200, requests: 12, lastUsedAt: 900 };
    const merged = mergeStoredState(
      revoked,
      { ...base, requests: 15 },
      { requests: 5, promptTokens: 7, completionTokens: 3 },
    );
    expect(merged.status).toBe('revoked');
    expect(merged.requests).toBe(17);
    expect(merged.promptTokens).toBe(107);
    expect(merged.completionTokens).toBe(53);
    expect(merged.lastUsedAt).toBe(1000);
    const newer = mergeStoredState(
      base,
      { ...revoked, statusAt: 300 },
      { requests: 0, promptTokens: 0, completionTokens: 0 },
    );
    expect(newer.status).toBe('revoked');
    expect(newer.requests).toBe(10);
  });
});
