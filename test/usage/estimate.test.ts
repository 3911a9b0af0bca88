import { describe, expect, it } from 'vitest';
import { countTokens as o200kTokens } from 'gpt-tokenizer/encoding/o200k_base';
import { countInPieces, remembering } from '../../src/usage/token-worker.js';
import { countPrompt, promptBound, promptParts } from '../../src/usage/estimate.js';
import { inspectBody, type BodyInfo } from '../../src/proxy/inspect-body.js';
import { dataUrl, pdf, png } from '../helpers/media.js';

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

describe('the prompt walked in its bytes', () => {
  const walk = (text: string) => {
    const info = inspectBody('application/json', Buffer.from(text), '/v1/chat/completions') as BodyInfo;
    return promptParts('gpt-4o', info.json);
  };
  const chat = (content: unknown) => JSON.stringify({ model: 'gpt-4o', messages: [{ role: 'user', content }] });

  it('bounds every kind of text from above, and counts it exactly off the event loop', async () => {
    const texts = [
      'Say hello.',
      'const x = a?.b ?? "c";\n\tif (x) { return [1, 2]; }',
      '東京は日本の首都です。',
      'emoji 🎉🎉🎉 and \u0000 controls',
      'quotes " and \\ backslashes',
      'x'.repeat(5000),
    ];
    for (const text of texts) {
      const parts = walk(chat(text));
      const exact = 3 + 3 + o200kTokens('user') + o200kTokens(text);
      expect((await countPrompt(parts)).tokens, text.slice(0, 20)).toBe(exact);
      expect(promptBound(parts).tokens, text.slice(0, 20)).toBeGreaterThanOrEqual(exact);
    }
  });

  it('counts a tool call or any other non-text field as written, and skips null', async () => {
    const body = JSON.stringify({
      model: 'gpt-4o',
      messages: [
        {
          role: 'assistant',
          content: null,
          tool_calls: [{ id: 'call_1', type: 'function', function: { name: 'f', arguments: '{}' } }],
        },
      ],
    });
    const parts = walk(body);
    const written = JSON.stringify([{ id: 'call_1', type: 'function', function: { name: 'f', arguments: '{}' } }]);
    expect((await countPrompt(parts)).tokens).toBe(3 + 3 + o200kTokens('assistant') + o200kTokens(written));
  });

  it('walks a value nested 10,000 deep without a stack overflow', () => {
    const deep = `{"model":"gpt-4o","messages":[{"role":"user","content":"hi","extra":${'['.repeat(10_000)}${']'.repeat(10_000)}}]}`;
    expect(promptBound(walk(deep)).tokens).toBeGreaterThanOrEqual(20_000);
  });

  it('reads a base64 image written with escaped slashes as it reads the plain one', () => {
    const url = dataUrl('image/png', png(1024, 1024));
    const plain = chat([{ type: 'image_url', image_url: { url, detail: 'high' } }]);
    const escaped = plain.replaceAll('/', '\\/');
    expect(escaped).not.toBe(plain);
    expect(walk(escaped).imageTokens).toBe(765);
    expect(walk(plain).imageTokens).toBe(765);
  });

  it("walks Anthropic's Messages bodies: the system prompt, and images by Claude's rule", async () => {
    const image = png(1000, 1000).toString('base64');
    const body = JSON.stringify({
      model: 'claude-sonnet-4-5',
      max_tokens: 100,
      system: [{ type: 'text', text: 'Be brief.', cache_control: { type: 'ephemeral' } }],
      messages: [
        {
          role: 'user',
          content: [
            { type: 'image', source: { type: 'base64', media_type: 'image/png', data: image } },
            { type: 'image', source: { type: 'url', url: 'https://example.com/a.png' } },
            { type: 'text', text: 'What is this?' },
          ],
        },
      ],
    });
    const parts = walk(body);
    // 1000×1000: 1,334 tokens by area (earlier models), 36×36 = 1,296 patches (later ones): the larger
    // bounds it; an image by URL is bounded by the most one image can cost, 4,784.
    expect(parts.imageTokens).toBe(1334 + 4784);
    expect((await countPrompt(parts)).tokens).toBeGreaterThanOrEqual(
      parts.imageTokens + o200kTokens('Be brief.') + o200kTokens('What is this?'),
    );
    expect(promptBound(parts).tokens).toBeLessThan(image.length);
    const plain = walk(JSON.stringify({ model: 'claude-haiku-4-5', max_tokens: 5, system: 'Be brief.', messages: [] }));
    expect((await countPrompt(plain)).tokens).toBe(3 + o200kTokens('Be brief.'));
  });

  it("bounds Anthropic's document blocks: a base64 PDF by the file bound, a text source as its text", async () => {
    const file = (await pdf(3)).toString('base64');
    const body = (source: unknown) =>
      JSON.stringify({
        model: 'claude-sonnet-4-5',
        max_tokens: 10,
        messages: [{ role: 'user', content: [{ type: 'document', source }] }],
      });
    const base64 = walk(body({ type: 'base64', media_type: 'application/pdf', data: file }));
    // A token per 4 bytes of the decoded file, and the document counted as no text.
    expect(base64.knownTokens).toBe(3 + 3 + Math.ceil(Buffer.from(file, 'base64').length / 4));
    expect(base64.textBytes).toBe('user'.length);
    const text = walk(body({ type: 'text', media_type: 'text/plain', data: 'The whole contract.' }));
    expect((await countPrompt(text)).tokens).toBe(3 + 3 + o200kTokens('user') + o200kTokens('The whole contract.'));
    const byFile = walk(body({ type: 'file', file_id: 'file_011' }));
    expect(byFile.knownTokens).toBe(3 + 3 + 8192);
  });

  it('answers invalid_json for a prompt that is not well formed inside', () => {
    expect(() => walk('{"model":"gpt-4o","messages":[{"role":"user" "content":"x"}]}')).toThrow();
    expect(() => walk('{"model":"gpt-4o","messages":[{"role":"user","content":[{"type":tru}]}]}')).toThrow(
      expect.objectContaining({ code: 'invalid_json' }),
    );
  });
});

describe('counting long texts in pieces', () => {
  const prose =
    'The quarterly report shows revenue growing in every region.\n\nCosts held flat;  the new contracts renewed at a higher rate than forecast. '.repeat(
      2000,
    );
  const code = 'function add(a, b) {\n  return a + b; // sum\n}\n\tconst list = [1, 2, 3].map((x) => x * 2);\n'.repeat(
    1500,
  );

  it('gives prose and code the count of the whole text', () => {
    for (const text of [prose, code, '東京は日本の首都です。 '.repeat(3000)])
      expect(countInPieces(o200kTokens, text)).toBe(o200kTokens(text));
  });

  it('counts a 1 MB run without a space in pieces, at most a token a byte (whole, it would take minutes)', () => {
    const word = 'x'.repeat(1024 * 1024);
    const tokens = countInPieces(o200kTokens, word);
    expect(tokens).toBeGreaterThan((1024 * 1024) / 16);
    expect(tokens).toBeLessThanOrEqual(1024 * 1024);
  });
});
