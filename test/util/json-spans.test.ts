import { describe, expect, it } from 'vitest';
import { scanTopLevel } from '../../src/util/json-spans.js';

/** The members the scan found, each value as its text. */
function members(text: string | Buffer): Record<string, string> | string {
  const bytes = typeof text === 'string' ? Buffer.from(text) : text;
  const scan = scanTopLevel(bytes);
  if (scan.kind !== 'object') return scan.kind;
  return Object.fromEntries(
    [...scan.members].map(([name, span]) => [name, bytes.toString('utf8', span.valueStart, span.valueEnd)]),
  );
}

describe('scanTopLevel', () => {
  it('finds every top-level member, its value exactly as written', () => {
    const body = {
      model: 'gpt-4o',
      stream: true,
      n: 2,
      temperature: -0.5e-3,
      stop: null,
      messages: [{ role: 'user', content: 'hi "there" {[' }],
      tools: { a: { b: [1, 2, { c: '}' }] } },
    };
    const text = JSON.stringify(body, null, 2);
    const found = members(text) as Record<string, string>;
    expect(Object.keys(found)).toEqual(Object.keys(body));
    for (const [name, value] of Object.entries(body)) expect(JSON.parse(found[name]!)).toEqual(value);
  });

  it('skips strings with escaped quotes and backslashes, and names with escapes', () => {
    expect(members('{"a":"x\\\\","b":"\\"}\\"","c\\u0041":1}')).toEqual({ a: '"x\\\\"', b: '"\\"}\\""', cA: '1' });
  });

  it('says which names appear more than once (the last one counts, as in JSON.parse)', () => {
    const scan = scanTopLevel(Buffer.from('{"model":"a","x":[{"model":"nested"}],"model":"b"}'));
    expect(scan.kind).toBe('object');
    if (scan.kind !== 'object') return;
    expect([...scan.duplicated]).toEqual(['model']);
    expect(scan.members.get('model')).toMatchObject({ valueStart: 46, valueEnd: 49 });
  });

  it('tells an object from other JSON and from what is not JSON', () => {
    expect(members('[1,2]')).toBe('other');
    expect(members(' "text" ')).toBe('other');
    expect(members('{}')).toEqual({});
    for (const bad of [
      '',
      '{',
      '{"model":',
      '{"a":1,}',
      '{"a" 1}',
      '{a:1}',
      '{"a":tru}',
      '{"a":01}',
      '{"a":[1,2}',
      '{"a":{"b":1]}',
      '{"a":"open}',
      '{"a":1} x',
      '{"a":1}{"b":2}',
    ]) {
      expect(members(bad), bad).toBe('invalid');
    }
  });

  it('skips 10,000 levels of nesting without recursion', () => {
    const deep = `{"model":"gpt-4o","x":${'['.repeat(10_000)}${']'.repeat(10_000)},"stream":true}`;
    expect(members(deep)).toMatchObject({ model: '"gpt-4o"', stream: 'true' });
    expect(members(`{"x":${'['.repeat(10_000)}${']'.repeat(9_999)}}`)).toBe('invalid');
  });

  it('passes bytes that are not UTF-8 through strings untouched', () => {
    const bytes = Buffer.concat([
      Buffer.from('{"model":"gpt-4o","messages":[{"content":"'),
      Buffer.from([0xff, 0xfe, 0xc3]),
      Buffer.from('"}]}'),
    ]);
    expect(members(bytes)).toMatchObject({ model: '"gpt-4o"' });
  });
});
