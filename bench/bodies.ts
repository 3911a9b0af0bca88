/**
 * The large requests teams send, for the size sweep and the stall figure: a long-context chat (a
 * system prompt, a pasted document, a few turns) of a given size, and a question about a 300 KB
 * inline image.
 */
import { dataUrl, png } from '../test/helpers/media.js';

const PARAGRAPH =
  'The quarterly report shows revenue growing in every region, with operating costs held flat and ' +
  'the new support contracts renewing at a higher rate than forecast. Section 4 lists the risks: ' +
  'currency moves, two large customers up for renewal, and a supplier whose delivery times slipped. ';

/** A chat request of about `bytes` bytes, most of them one pasted document. */
export function longChatBody(bytes: number): Buffer {
  const turns = [
    { role: 'system', content: 'You are a careful analyst. Answer from the document only, and cite its sections.' },
    { role: 'user', content: '' },
    { role: 'assistant', content: 'I have read the document. What would you like to know?' },
    { role: 'user', content: 'Summarize the risks in Section 4 in three bullet points.' },
  ];
  const frame = Buffer.byteLength(JSON.stringify({ model: 'gpt-4o-mini', messages: turns }));
  const document = PARAGRAPH.repeat(Math.max(1, Math.ceil((bytes - frame) / PARAGRAPH.length))).slice(0, Math.max(1, bytes - frame));
  turns[1]!.content = `Here is the document:\n\n${document}`;
  return Buffer.from(JSON.stringify({ model: 'gpt-4o-mini', messages: turns }));
}

/** A question about a noisy 300×250 PNG (about 300 KB), inline as a data: URL. */
export function imageBody(): Buffer {
  const image = png(300, 250, true);
  return Buffer.from(
    JSON.stringify({
      model: 'gpt-4o-mini',
      max_tokens: 100,
      messages: [{ role: 'user', content: [{ type: 'text', text: 'What is in this picture?' }, { type: 'image_url', image_url: { url: dataUrl('image/png', image) } }] }],
    }),
  );
}

/** A body by the name the tools take in BODY: `32k`, `256k`, `1m` (long chats) or `image`; undefined for none. */
export function bodyNamed(name: string | undefined): Buffer | undefined {
  if (!name) return undefined;
  if (name === 'image') return imageBody();
  const match = /^(\d+)(k|m)$/i.exec(name);
  if (!match) throw new Error(`BODY=${name}: expected 32k, 256k, 1m or image`);
  return longChatBody(Number(match[1]) * (match[2]!.toLowerCase() === 'k' ? 1024 : 1024 * 1024));
}

/**
 * The load the tools send, from BODY: the 200-byte chat from 50 connections, or a large body from
 * 4 (teams send long prompts a few at a time), answered by the mock without reading it.
 */
export function loadFromEnv(): { connections: number; body: Buffer | undefined; headers: Record<string, string> } {
  const body = bodyNamed(process.env.BODY);
  return body ? { connections: 4, body, headers: { 'x-mock-ignore-body': '1' } } : { connections: 50, body: undefined, headers: {} };
}
