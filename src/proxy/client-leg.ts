/**
 * What http-proxy-3's `ws()` is given as the client's socket: it writes the upstream's side into it
 * (the 101 head, then the upstream's frames) and pipes the client's frames out of it. Standing
 * between the two lets aifd read what passes, add frames of its own, and — when the upstream refuses
 * the handshake — keep the refusal from the client while another key is tried (a destroyed leg makes
 * http-proxy-3 drain the refusal instead of writing it).
 */
import { Duplex } from 'node:stream';

/** Where the upstream's bytes go once a session takes them; `done` is called when they may come on. */
export type LegSink = (chunk: Buffer, done: (error?: Error | null) => void) => void;

export class ClientLeg extends Duplex {
  private sink: LegSink | undefined;
  private held: { chunk: Buffer; done: (error?: Error | null) => void } | undefined;
  /** Called when the upstream side wants more of the client's bytes. */
  onDemand: (() => void) | undefined;
  /** Called once the upstream side has ended. */
  onUpstreamEnd: (() => void) | undefined;

  /** The session takes the upstream's bytes from here on (a write made before it waits for it). */
  attach(sink: LegSink): void {
    this.sink = sink;
    const held = this.held;
    this.held = undefined;
    if (held) sink(held.chunk, held.done);
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, done: (error?: Error | null) => void): void {
    if (this.sink) this.sink(chunk, done);
    else this.held = { chunk, done };
  }

  override _read(): void {
    this.onDemand?.();
  }

  override _final(done: (error?: Error | null) => void): void {
    this.onUpstreamEnd?.();
    done();
  }

  // http-proxy-3 sets these up on what it takes for a net.Socket; a leg has no socket options.
  setTimeout(): this {
    return this;
  }
  setNoDelay(): this {
    return this;
  }
  setKeepAlive(): this {
    return this;
  }
  destroySoon(): void {
    this.destroy();
  }
}
