import { describe, expect, it } from 'vitest';
import { normalizeTarget } from '../../src/proxy/normalize-path.js';
import { AifdError } from '../../src/errors.js';

describe('normalizeTarget', () => {
  it('normalizes what can be normalized', () => {
    expect(normalizeTarget('/v1/chat/completions')).toBe('/v1/chat/completions');
    expect(normalizeTarget('//v1//files')).toBe('/v1/files');
    expect(normalizeTarget('/v1/./files')).toBe('/v1/files');
    expect(normalizeTarget('/v1/chat/../files')).toBe('/v1/files');
    expect(normalizeTarget('/v1/files/')).toBe('/v1/files');
    expect(normalizeTarget('/v1/%66iles')).toBe('/v1/files');
    expect(normalizeTarget('/v1/files?purpose=a/../b')).toBe('/v1/files?purpose=a/../b');
    expect(normalizeTarget('/')).toBe('/');
  });
  it('refuses what could smuggle a path past a rule', () => {
    for (const bad of [
      '/v1%2ffiles',
      '/v1/%2E%2E/files',
      '/v1/%2e/files',
      '/v1\\files',
      '/v1/files%5c',
      '/../v1/files',
      '/v1/../../files',
      'v1/files',
      '/v1/fi\u0000les',
      '/v1/files%00',
    ]) {
      expect(() => normalizeTarget(bad), bad).toThrow(AifdError);
    }
  });
});
