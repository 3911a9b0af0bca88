import { describe, expect, it } from 'vitest';
import { JsonBody } from '../../src/proxy/json-body.js';
import { scanTopLevel } from '../../src/util/json-spans.js';

function body(text: string): JsonBody {
  const bytes = Buffer.from(text);
  const scan = scanTopLevel(bytes);
  if (scan.kind !== 'object') throw new Error(`not an object: ${text}`);
  return new JsonBody(bytes, scan.members);
}

describe('JsonBody', () => {
  const text =
    '{ "model" : "gpt-4o",\n "messages": [{"role":"user","content":"é \\"quoted\\""}], "caching": true, "stream":true }';

  it('reads members one by one, and the whole object when asked', () => {
    const json = body(text);
    expect(json.get('model')).toBe('gpt-4o');
    expect(json.get('caching')).toBe(true);
    expect(json.get('absent')).toBeUndefined();
    expect(json.has('stream')).toBe(true);
    expect(json.object).toEqual(JSON.parse(text));
  });

  it('forwards the very bytes it was given while nothing changed', () => {
    const json = body(text);
    void json.object;
    expect(json.changed).toBe(false);
    expect(json.toBuffer().toString()).toBe(text);
  });

  it('splices changes in and keeps every other member byte for byte', () => {
    const json = body(text);
    json.delete('caching');
    json.set('model', 'gpt-4o-mini');
    json.set('stream_options', { include_usage: true });
    const out = json.toBuffer().toString();
    expect(JSON.parse(out)).toEqual({
      model: 'gpt-4o-mini',
      messages: [{ role: 'user', content: 'é "quoted"' }],
      stream: true,
      stream_options: { include_usage: true },
    });
    expect(out).toContain('"messages": [{"role":"user","content":"é \\"quoted\\""}]');
    expect(json.get('caching')).toBeUndefined();
    expect(json.has('caching')).toBe(false);
    // the object read after the changes has them too
    expect(json.object).toEqual(JSON.parse(out));
  });

  it('keeps changes made after the whole object was read', () => {
    const json = body('{"model":"a"}');
    expect(json.object.model).toBe('a');
    json.set('model', 'b');
    expect(json.object.model).toBe('b');
    expect(JSON.parse(json.toBuffer().toString())).toEqual({ model: 'b' });
    json.delete('model');
    expect(json.toBuffer().toString()).toBe('{}');
  });

  it('answers invalid_json for a value that only a full parse finds broken', () => {
    const json = body('{"model":"gpt-4o","messages":[1,,2]}');
    expect(json.get('model')).toBe('gpt-4o');
    expect(() => json.object).toThrow(expect.objectContaining({ code: 'invalid_json' }));
  });
});
