import { describe, expect, it } from 'vitest';
import { remembering } from '../../src/usage/token-worker.js';

/** A counter that says how often it was asked, per text. */
function countingCounter() {
  const asked = new Map<string, number>();
  const count = (text: string) => {
    asked.set(text, (asked.get(text) ?? 0) + 1);
    return text.length;
  };
  return { count, asked };
}

describe('remembering token counts', () => {
  it('counts a repeated text once', () => {
    const { count, asked } = countingCounter();
    const remembered = remembering(count);
    for (let i = 0; i < 5; i++) expect(remembered('You are a helpful assistant.')).toBe(28);
    expect(asked.get('You are a helpful assistant.')).toBe(1);
  });

  it('forgets the oldest texts past its count or its total length, and never holds more', () => {
    const { count, asked } = countingCounter();
    const remembered = remembering(count, { texts: 3, chars: 10, hashFrom: 1000 });
    remembered('aaaa');
    remembered('bbbb');
    remembered('cccc'); // 12 characters: 'aaaa' goes
    remembered('bbbb');
    expect(asked.get('bbbb')).toBe(1);
    remembered('aaaa');
    expect(asked.get('aaaa')).toBe(2);
    remembered('d');
    remembered('e'); // 4 texts would be too many: the oldest goes
    remembered('cccc');
    expect(asked.get('cccc')).toBe(2);
    // a text longer than the whole budget is counted every time, and pushes nothing out
    const long = 'x'.repeat(20);
    expect(remembered(long)).toBe(20);
    expect(remembered(long)).toBe(20);
    expect(asked.get(long)).toBe(2);
    remembered('e');
    expect(asked.get('e')).toBe(1);
  });

  it('remembers a pasted document by its hash: counted once, held as a few bytes', () => {
    const { count, asked } = countingCounter();
    // room for 100 characters: a 1 MB text itself would never fit, its hash does
    const remembered = remembering(count, { texts: 10, chars: 100, hashFrom: 64 });
    const document = 'y'.repeat(1024 * 1024);
    expect(remembered(document)).toBe(1024 * 1024);
    expect(remembered(document)).toBe(1024 * 1024);
    expect(asked.get(document)).toBe(1);
    const other = 'y'.repeat(1024 * 1024 - 1) + 'z';
    expect(remembered(other)).toBe(1024 * 1024);
    expect(asked.get(other)).toBe(1);
  });
});
