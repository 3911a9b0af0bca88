/** Long prompts as teams send them, for tests and the benchmark alike. */

const PARAGRAPH =
  'The quarterly report shows revenue growing in every region, with operating costs held flat and ' +
  'the new support contracts renewing at a higher rate than forecast. Section 4 lists the risks: ' +
  'currency moves, two large customers up for renewal, and a supplier whose delivery times slipped. ';

/** A chat request of about `bytes` bytes (a system prompt, a pasted document, a few turns), most of them one pasted document. */
export function longChatBody(bytes: number): Buffer {
  const turns = [
    { role: 'system', content: 'You are a careful analyst. Answer from the document only, and cite its sections.' },
    { role: 'user', content: '' },
    { role: 'assistant', content: 'I have read the document. What would you like to know?' },
    { role: 'user', content: 'Summarize the risks in Section 4 in three bullet points.' },
  ];
  const frame = Buffer.byteLength(JSON.stringify({ model: 'gpt-4o-mini', messages: turns }));
  const document = PARAGRAPH.repeat(Math.max(1, Math.ceil((bytes - frame) / PARAGRAPH.length))).slice(
    0,
    Math.max(1, bytes - frame),
  );
  turns[1]!.content = `Here is the document:\n\n${document}`;
  return Buffer.from(JSON.stringify({ model: 'gpt-4o-mini', messages: turns }));
}
