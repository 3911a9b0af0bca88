import { describe, expect, it } from 'vitest';
import { closePayload, encodeFrame, FrameReader, OPCODE } from '../../src/realtime/frames.js';
import { readServerEvent, wantsServerEvent } from '../../src/realtime/events.js';
import { DOCUMENTED_USAGE } from '../mock-upstream/realtime.js';
import { newTally, observeServerEvent } from '../../src/realtime/session-tally.js';

/** Reads `bytes` cut at `cut` (every split point is tried by the callers). */
function readInTwo(reader: FrameReader, bytes: Buffer, cut: number): void {
  expect(reader.read(bytes.subarray(0, cut))).toBe(cut);
  expect(reader.read(bytes.subarray(cut))).toBe(bytes.length - cut);
}

describe('FrameReader', () => {
  const done = Buffer.from(JSON.stringify({ type: 'response.done', response: { usage: DOCUMENTED_USAGE } }));
  const delta = Buffer.from(JSON.stringify({ type: 'response.output_audio.delta', delta: 'A'.repeat(300) }));

  for (const masked of [false, true]) {
    it(`holds only the messages it wants, split anywhere (${masked ? 'masked' : 'unmasked'})`, () => {
      const stream = Buffer.concat([
        encodeFrame(OPCODE.text, delta, masked),
        encodeFrame(OPCODE.ping, Buffer.from('hi'), masked),
        encodeFrame(OPCODE.text, done, masked),
        encodeFrame(OPCODE.close, closePayload(4001, 'bye'), masked),
      ]);
      for (let cut = 0; cut <= stream.length; cut += 7) {
        const held: string[] = [];
        const closes: [number | undefined, string][] = [];
        const reader = new FrameReader({
          wants: wantsServerEvent,
          maxHeld: 1 << 20,
          onMessage: (payload) => void held.push(payload.toString()),
          onClose: (code, reason) => void closes.push([code, reason]),
        });
        readInTwo(reader, stream, cut);
        expect(held).toEqual([done.toString()]);
        expect(closes).toEqual([[4001, 'bye']]);
        expect(reader.frames).toBe(4);
        expect(reader.atBoundary).toBe(true);
      }
    });
  }

  it('stops right after a message it was told to stop at', () => {
    const first = encodeFrame(OPCODE.text, done, false);
    const stream = Buffer.concat([first, encodeFrame(OPCODE.text, done, false)]);
    const reader = new FrameReader({ wants: wantsServerEvent, maxHeld: 1 << 20, onMessage: () => 'stop' });
    expect(reader.read(stream)).toBe(first.length);
    expect(reader.atBoundary).toBe(true);
    expect(reader.read(stream.subarray(first.length))).toBe(first.length);
  });

  it('reads 16- and 64-bit lengths, and passes a message over its cap unread', () => {
    const medium = Buffer.from(`{"type":"error","pad":"${'x'.repeat(70_000)}"}`);
    const large = Buffer.alloc(5 * 1024 * 1024, 1);
    const held: number[] = [];
    const reader = new FrameReader({
      wants: () => true,
      maxHeld: 1024 * 1024,
      onMessage: (payload) => void held.push(payload.length),
    });
    const stream = Buffer.concat([
      encodeFrame(OPCODE.text, medium, true),
      encodeFrame(OPCODE.binary, large, false),
      encodeFrame(OPCODE.text, large, false),
    ]);
    expect(reader.read(stream)).toBe(stream.length);
    expect(held).toEqual([medium.length]);
    expect(reader.unread).toBe(1);
    expect(reader.frames).toBe(3);
  });

  it('reads a message sent in fragments as one', () => {
    const text = Buffer.from(JSON.stringify({ type: 'response.done', response: { usage: DOCUMENTED_USAGE } }));
    const head = encodeFrame(OPCODE.text, text.subarray(0, 10), false);
    head[0] = OPCODE.text; // FIN off
    const tail = encodeFrame(OPCODE.continuation, text.subarray(10), false);
    const held: string[] = [];
    const reader = new FrameReader({
      wants: wantsServerEvent,
      maxHeld: 1 << 20,
      onMessage: (p) => void held.push(String(p)),
    });
    reader.read(Buffer.concat([head, tail]));
    expect(held).toEqual([text.toString()]);
  });
});

describe('server events', () => {
  it('reads usage in the chat shape, with cached audio apart', () => {
    const facts = readServerEvent(
      Buffer.from(JSON.stringify({ type: 'response.done', response: { usage: DOCUMENTED_USAGE, output: [] } })),
    );
    expect(facts).toMatchObject({
      kind: 'response',
      usage: {
        prompt_tokens: 132,
        completion_tokens: 121,
        total_tokens: 253,
        cached_tokens: 64,
        audio_prompt_tokens: 13,
        audio_completion_tokens: 91,
      },
    });
  });

  it('passes over deltas from their first bytes, and reads an event whose type is not first', () => {
    expect(wantsServerEvent(Buffer.from('{"type":"response.output_audio.delta","delta":"AAAA'))).toBe(false);
    expect(wantsServerEvent(Buffer.from('{"type":"response.done","response":{'))).toBe(true);
    expect(wantsServerEvent(Buffer.from('{"event_id":"e1","type":"response.done"}'))).toBe(true);
    expect(readServerEvent(Buffer.from('not json'))).toBeUndefined();
  });
});

describe('a session tally', () => {
  it('keeps the turns for the chat log up to 1 MiB of text, then says they were cut', () => {
    const tally = newTally();
    const turn = { role: 'assistant' as const, content: 'x'.repeat(300_000) };
    for (let i = 0; i < 5; i++)
      observeServerEvent(tally, { kind: 'response', usage: undefined, turns: [turn], status: 'completed' });
    expect(tally.turns).toHaveLength(3);
    expect(tally.turnsCut).toBe(true);
    expect(tally.responses).toBe(5);
  });
});
