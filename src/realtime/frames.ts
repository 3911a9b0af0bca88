/**
 * WebSocket frames (RFC 6455 §5.2) read as they pass through the relay: every header is read, a
 * payload is held only for a message someone asked to see (and only up to a cap), and the reader
 * can stop at the end of any frame, so that the relay may put a frame of its own between two of
 * the peer's. `ws` reads messages whole and cannot say where in the bytes a frame ends, which is
 * what adding a frame needs.
 */

export const OPCODE = { continuation: 0, text: 1, binary: 2, close: 8, ping: 9, pong: 10 } as const;

/** Decides, from the first bytes of a text message, whether it is to be held whole. */
export type WantsMessage = (prefix: Buffer) => boolean;

export interface FrameReaderOptions {
  /** Which text messages to hold; none when absent. */
  wants?: WantsMessage;
  /** Largest message held; a larger one passes unread (and is counted in `unread`). */
  maxHeld: number;
  /** A held message, whole and unmasked. Return 'stop' to stop reading right after its frame. */
  onMessage?(payload: Buffer): 'stop' | undefined;
  /** A close frame: its code (undefined when it has none) and reason. */
  onClose?(code: number | undefined, reason: string): void;
}

/** How many bytes of a text message `wants` is shown (fewer if the message is shorter). */
const PREFIX_BYTES = 64;

const HEADER_MAX = 14;

export class FrameReader {
  /** Frames whose header was read. */
  frames = 0;
  /** Messages that were wanted but larger than `maxHeld`. */
  unread = 0;
  /** Whether the reader is between frames (a frame of the relay's own may go here). */
  get atBoundary(): boolean {
    return this.headerHave === 0 && this.payloadLeft === 0;
  }

  private readonly header = Buffer.alloc(HEADER_MAX);
  private headerHave = 0;
  private payloadLeft = 0;
  private payloadAt = 0;
  private opcode = 0;
  private fin = false;
  private mask: Buffer | undefined;
  /** The data message being read: held parts, or undefined when it is not held. */
  private held: Buffer[] | undefined;
  private heldSize = 0;
  private deciding = false;
  private control: Buffer[] = [];

  constructor(private readonly options: FrameReaderOptions) {}

  /**
   * Reads `chunk`; returns how many of its bytes were read: all of them, or fewer when a message
   * callback said 'stop' (the rest starts after that message's last frame).
   */
  read(chunk: Buffer): number {
    let at = 0;
    while (at < chunk.length) {
      if (this.payloadLeft === 0) {
        at = this.readHeader(chunk, at);
        // A frame without payload ends with its header.
        if (this.headerHave === 0 && this.payloadLeft === 0 && this.endFrame() === 'stop') return at;
        continue;
      }
      const take = Math.min(this.payloadLeft, chunk.length - at);
      this.payload(chunk.subarray(at, at + take));
      at += take;
      this.payloadLeft -= take;
      if (this.payloadLeft === 0 && this.endFrame() === 'stop') return at;
    }
    return at;
  }

  /** Copies header bytes; once the header is whole, sets up the frame and returns where its payload starts. */
  private readHeader(chunk: Buffer, at: number): number {
    const header = this.header;
    while (at < chunk.length) {
      header[this.headerHave++] = chunk[at++]!;
      if (this.headerHave < 2) continue;
      const need = headerLength(header);
      if (this.headerHave < need) continue;
      this.startFrame(header);
      this.headerHave = 0;
      return at;
    }
    return at;
  }

  private startFrame(header: Buffer): void {
    this.frames++;
    this.fin = (header[0]! & 0x80) !== 0;
    this.opcode = header[0]! & 0x0f;
    const masked = (header[1]! & 0x80) !== 0;
    const short = header[1]! & 0x7f;
    let length = short;
    let offset = 2;
    if (short === 126) {
      length = header.readUInt16BE(2);
      offset = 4;
    } else if (short === 127) {
      length = header.readUInt32BE(2) * 2 ** 32 + header.readUInt32BE(6);
      offset = 10;
    }
    this.mask = masked ? Buffer.from(header.subarray(offset, offset + 4)) : undefined;
    this.payloadLeft = length;
    this.payloadAt = 0;
    if (this.opcode === OPCODE.text) {
      this.held = this.options.wants ? [] : undefined;
      this.heldSize = 0;
      this.deciding = this.held !== undefined;
    } else if (this.opcode === OPCODE.binary) {
      this.held = undefined;
    } else if (this.opcode >= 8) {
      this.control = [];
    }
  }

  private payload(part: Buffer): void {
    if (this.opcode >= 8) {
      if (this.opcode === OPCODE.close) this.control.push(this.unmasked(part));
      this.payloadAt += part.length;
      return;
    }
    if (this.held) {
      if (this.heldSize + part.length > this.options.maxHeld) {
        this.held = undefined;
        this.unread++;
      } else {
        this.held.push(this.unmasked(part));
        this.heldSize += part.length;
        if (this.deciding && this.heldSize >= PREFIX_BYTES) this.decide();
      }
    }
    this.payloadAt += part.length;
  }

  private decide(): void {
    this.deciding = false;
    if (!this.held) return;
    const prefix = this.held.length === 1 ? this.held[0]! : Buffer.concat(this.held, this.heldSize);
    if (!this.options.wants!(prefix.subarray(0, PREFIX_BYTES))) this.held = undefined;
    else this.held = [prefix];
  }

  private unmasked(part: Buffer): Buffer {
    const mask = this.mask;
    if (!mask) return part;
    const out = Buffer.allocUnsafe(part.length);
    for (let i = 0; i < part.length; i++) out[i] = part[i]! ^ mask[(this.payloadAt + i) & 3]!;
    return out;
  }

  private endFrame(): 'stop' | undefined {
    if (this.opcode === OPCODE.close) {
      const body = Buffer.concat(this.control);
      this.options.onClose?.(body.length >= 2 ? body.readUInt16BE(0) : undefined, body.subarray(2).toString('utf8'));
      return undefined;
    }
    if (this.opcode >= 8 || !this.fin) return undefined;
    // The last frame of a data message.
    if (this.deciding) this.decide();
    const held = this.held;
    this.held = undefined;
    if (!held || !this.options.onMessage) return undefined;
    return this.options.onMessage(held.length === 1 ? held[0]! : Buffer.concat(held, this.heldSize));
  }
}

/** How long a frame header is, from its first two bytes. */
function headerLength(header: Buffer): number {
  const short = header[1]! & 0x7f;
  const masked = (header[1]! & 0x80) !== 0;
  return 2 + (short === 126 ? 2 : short === 127 ? 8 : 0) + (masked ? 4 : 0);
}

/** One whole frame: masked when it goes from the client's side to a server (RFC 6455 §5.3). */
export function encodeFrame(opcode: number, payload: Buffer, masked: boolean): Buffer {
  const length = payload.length;
  const extended = length < 126 ? 0 : length < 65_536 ? 2 : 8;
  const headerSize = 2 + extended + (masked ? 4 : 0);
  const frame = Buffer.allocUnsafe(headerSize + length);
  frame[0] = 0x80 | opcode;
  frame[1] = (masked ? 0x80 : 0) | (extended === 0 ? length : extended === 2 ? 126 : 127);
  if (extended === 2) frame.writeUInt16BE(length, 2);
  else if (extended === 8) {
    frame.writeUInt32BE(Math.floor(length / 2 ** 32), 2);
    frame.writeUInt32BE(length >>> 0, 6);
  }
  if (!masked) {
    payload.copy(frame, headerSize);
    return frame;
  }
  const maskAt = 2 + extended;
  const mask = crypto.getRandomValues(new Uint8Array(4));
  frame.set(mask, maskAt);
  for (let i = 0; i < length; i++) frame[headerSize + i] = payload[i]! ^ mask[i & 3]!;
  return frame;
}

/** A close frame's payload: the code, then a reason cut to fit a control frame's 125 bytes. */
export function closePayload(code: number, reason: string): Buffer {
  const text = Buffer.from(reason, 'utf8');
  const out = Buffer.allocUnsafe(2 + Math.min(text.length, 123));
  out.writeUInt16BE(code, 0);
  text.copy(out, 2, 0, Math.min(text.length, 123));
  return out;
}
