/**
 * A JSON object request body, read member by member. aifd needs a few top-level fields (`model`,
 * `stream`, `stream_options`, `caching`, `n`); those are parsed alone, from their bytes. The whole
 * object is parsed only for whoever needs all of it (token limits, the cache key, the chat log),
 * and a changed member is spliced into the original bytes, so the rest is forwarded untouched.
 */
import { invalidJson } from '../errors.js';
import type { MemberSpan } from '../util/json-spans.js';

const REMOVED = Symbol('removed');

export class JsonBody {
  private whole: Record<string, unknown> | undefined;
  private readonly changes = new Map<string, unknown>();

  constructor(
    private readonly bytes: Buffer,
    private readonly members: ReadonlyMap<string, MemberSpan>,
  ) {}

  has(name: string): boolean {
    if (this.changes.has(name)) return this.changes.get(name) !== REMOVED;
    return this.members.has(name);
  }

  /** A top-level member's value (undefined when absent); throws `invalid_json` if it does not parse. */
  get(name: string): unknown {
    if (this.changes.has(name)) {
      const change = this.changes.get(name);
      return change === REMOVED ? undefined : change;
    }
    if (this.whole) return this.whole[name];
    const span = this.members.get(name);
    return span ? parse(this.bytes.toString('utf8', span.valueStart, span.valueEnd)) : undefined;
  }

  set(name: string, value: unknown): void {
    this.changes.set(name, value);
    if (this.whole) this.whole[name] = value;
  }

  delete(name: string): void {
    if (!this.has(name)) return;
    this.changes.set(name, REMOVED);
    if (this.whole) delete this.whole[name];
  }

  /** The bytes as received (a member's span points into them). */
  get source(): Buffer {
    return this.bytes;
  }

  /** Where a member lies in `source`, while it is unchanged. */
  span(name: string): MemberSpan | undefined {
    return this.changes.has(name) ? undefined : this.members.get(name);
  }

  get changed(): boolean {
    return this.changes.size > 0;
  }

  /** The whole object, parsed once, with the changes made so far. */
  get object(): Record<string, unknown> {
    if (!this.whole) {
      const whole = parse(this.bytes.toString('utf8')) as Record<string, unknown>;
      for (const [name, change] of this.changes) {
        if (change === REMOVED) delete whole[name];
        else whole[name] = change;
      }
      this.whole = whole;
    }
    return this.whole;
  }

  /** The bytes to forward: the original ones, or, once changed, its members' bytes with the changes in. */
  toBuffer(): Buffer {
    if (this.changes.size === 0) return this.bytes;
    const pieces: Buffer[] = [Buffer.from('{')];
    let first = true;
    const add = (piece: Buffer) => {
      if (!first) pieces.push(COMMA);
      pieces.push(piece);
      first = false;
    };
    for (const [name, span] of [...this.members].sort(([, a], [, b]) => a.nameStart - b.nameStart)) {
      if (!this.changes.has(name)) {
        add(this.bytes.subarray(span.nameStart, span.valueEnd));
        continue;
      }
      const change = this.changes.get(name);
      if (change !== REMOVED)
        add(
          Buffer.concat([
            this.bytes.subarray(span.nameStart, span.valueStart),
            Buffer.from(JSON.stringify(change) ?? 'null'),
          ]),
        );
    }
    for (const [name, change] of this.changes) {
      if (change !== REMOVED && !this.members.has(name))
        add(Buffer.from(`${JSON.stringify(name)}:${JSON.stringify(change) ?? 'null'}`));
    }
    pieces.push(Buffer.from('}'));
    return Buffer.concat(pieces);
  }
}

const COMMA = Buffer.from(',');

function parse(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    throw invalidJson();
  }
}
