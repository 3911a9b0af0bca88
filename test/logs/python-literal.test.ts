import { describe, expect, it } from 'vitest';
import { parsePythonLiteral } from '../../src/logs/python-literal.js';

describe('Python literals as repr() writes them', () => {
  it('reads dicts, lists, tuples, strings with escapes, numbers and constants', () => {
    expect(
      parsePythonLiteral(
        `{'messages': [{'user': 'hi'}], 'model': 'gpt-3.5-turbo', 'forwarded-for': '', 'n': 1, 't': 0.7, 'x': None, 'ok': True, 'no': False}`,
      ),
    ).toEqual({
      messages: [{ user: 'hi' }],
      model: 'gpt-3.5-turbo',
      'forwarded-for': '',
      n: 1,
      t: 0.7,
      x: null,
      ok: true,
      no: false,
    });
    expect(parsePythonLiteral(`{"assistant": "It's fine\\n\\tsaid \\"he\\" \\u00e9\\x41", 'uid': 'a'}`)).toEqual({
      assistant: 'It\'s fine\n\tsaid "he" éA',
      uid: 'a',
    });
    expect(parsePythonLiteral(`('a', -2, [1, 2,], {},)`)).toEqual(['a', -2, [1, 2], {}]);
    expect(parsePythonLiteral(`'你好'`)).toBe('你好');
  });

  it('throws on what it is not', () => {
    for (const bad of [`{'a': }`, `{'a': 1`, `'unclosed`, `{'a': 1} trailing`, `undefined`, ``])
      expect(() => parsePythonLiteral(bad), bad).toThrow(SyntaxError);
  });
});
