/**
 * The large requests teams send, for the size sweep and the stall figure: a long-context chat (a
 * system prompt, a pasted document, a few turns) of a given size, and a question about a 300 KB
 * inline image.
 */
import { dataUrl, png } from '../test/helpers/media.js';
import { longChatBody } from '../test/helpers/prompts.js';

export { longChatBody };

/** A question about a noisy 300×250 PNG (about 300 KB), inline as a data: URL. */
export function imageBody(): Buffer {
  const image = png(300, 250, true);
  return Buffer.from(
    JSON.stringify({
      model: 'gpt-4o-mini',
      max_tokens: 100,
      messages: [
        {
          role: 'user',
          content: [
            { type: 'text', text: 'What is in this picture?' },
            { type: 'image_url', image_url: { url: dataUrl('image/png', image) } },
          ],
        },
      ],
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
  return body
    ? { connections: 4, body, headers: { 'x-mock-ignore-body': '1' } }
    : { connections: 50, body: undefined, headers: {} };
}
