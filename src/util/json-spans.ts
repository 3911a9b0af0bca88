/**
 * The members of a JSON object, found without parsing it: where each member's name and value lie
 * in the bytes (the top level's, and on asking any nested object's or array's). A 1 MB chat
 * request is mostly strings inside `messages`; those are skipped by `indexOf` (native), and no
 * value is built, so finding `model` and `stream` costs a small fraction of `JSON.parse` and none
 * of the UTF-8 decoding.
 *
 * The top level is checked to the letter of JSON (names, colons, commas, scalars); nested values
 * only for balanced brackets and closed strings. A fault deeper inside a value is found by
 * whoever parses the value, if anyone needs to.
 */

export interface MemberSpan {
  /** Offset of the member's name (its opening quote). */
  nameStart: number;
  /** The value's bytes: [valueStart, valueEnd). */
  valueStart: number;
  valueEnd: number;
}

export type TopLevelScan =
  | { kind: 'object'; members: Map<string, MemberSpan>; duplicated: ReadonlySet<string> }
  /** Well-formed so far as seen, but not an object (an array, a string, …). */
  | { kind: 'other' }
  | { kind: 'invalid' };

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const COMMA = 0x2c;
const COLON = 0x3a;
const OPEN_OBJECT = 0x7b;
const CLOSE_OBJECT = 0x7d;
const OPEN_ARRAY = 0x5b;
const CLOSE_ARRAY = 0x5d;

const INVALID: TopLevelScan = Object.freeze({ kind: 'invalid' });
const OTHER: TopLevelScan = Object.freeze({ kind: 'other' });
const NO_DUPLICATES: ReadonlySet<string> = new Set();
const SCALAR = /^(?:true|false|null|-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?)$/;

export function scanTopLevel(bytes: Buffer): TopLevelScan {
  const at = skipSpace(bytes, 0);
  if (bytes[at] !== OPEN_OBJECT) return at < bytes.length ? OTHER : INVALID;
  const object = objectAt(bytes, at);
  if (!object || skipSpace(bytes, object.end) !== bytes.length) return INVALID;
  return { kind: 'object', members: object.members, duplicated: object.duplicated };
}

/** The members of the object that opens at `at` (undefined if it is not a well-formed object). */
export function objectAt(
  bytes: Buffer,
  at: number,
): { members: Map<string, MemberSpan>; duplicated: ReadonlySet<string>; end: number } | undefined {
  if (bytes[at] !== OPEN_OBJECT) return undefined;
  const members = new Map<string, MemberSpan>();
  let duplicated: Set<string> | undefined;
  at = skipSpace(bytes, at + 1);
  if (bytes[at] === CLOSE_OBJECT) return { members, duplicated: NO_DUPLICATES, end: at + 1 };
  for (;;) {
    if (bytes[at] !== QUOTE) return undefined;
    const nameStart = at;
    const nameEnd = skipString(bytes, at);
    if (nameEnd < 0) return undefined;
    at = skipSpace(bytes, nameEnd);
    if (bytes[at] !== COLON) return undefined;
    const valueStart = skipSpace(bytes, at + 1);
    const valueEnd = skipValue(bytes, valueStart);
    if (valueEnd < 0) return undefined;
    const name = memberName(bytes, nameStart, nameEnd);
    if (name === undefined) return undefined;
    if (members.has(name)) (duplicated ??= new Set()).add(name);
    // As JSON.parse does, the last of duplicated names wins.
    members.set(name, { nameStart, valueStart, valueEnd });
    at = skipSpace(bytes, valueEnd);
    if (bytes[at] === COMMA) {
      at = skipSpace(bytes, at + 1);
      continue;
    }
    if (bytes[at] !== CLOSE_OBJECT) return undefined;
    return { members, duplicated: duplicated ?? NO_DUPLICATES, end: at + 1 };
  }
}

/** The items of the array that opens at `at`, each as [start, end) (undefined if not a well-formed array). */
export function arrayAt(bytes: Buffer, at: number): { items: [number, number][]; end: number } | undefined {
  if (bytes[at] !== OPEN_ARRAY) return undefined;
  const items: [number, number][] = [];
  at = skipSpace(bytes, at + 1);
  if (bytes[at] === CLOSE_ARRAY) return { items, end: at + 1 };
  for (;;) {
    const end = skipValue(bytes, at);
    if (end < 0) return undefined;
    items.push([at, end]);
    at = skipSpace(bytes, end);
    if (bytes[at] === COMMA) {
      at = skipSpace(bytes, at + 1);
      continue;
    }
    return bytes[at] === CLOSE_ARRAY ? { items, end: at + 1 } : undefined;
  }
}

/** What kind of value starts at `at`. */
export function kindAt(bytes: Buffer, at: number): 'object' | 'array' | 'string' | 'number' | 'literal' {
  const byte = bytes[at];
  if (byte === OPEN_OBJECT) return 'object';
  if (byte === OPEN_ARRAY) return 'array';
  if (byte === QUOTE) return 'string';
  return byte === 0x2d || (byte !== undefined && byte >= 0x30 && byte <= 0x39) ? 'number' : 'literal';
}

/** Whether the bytes [start, end) hold a backslash (a JSON string with escapes in it). */
export function hasEscapes(bytes: Buffer, start: number, end: number): boolean {
  return bytes.subarray(start, end).indexOf(BACKSLASH) >= 0;
}

function isSpace(byte: number | undefined): boolean {
  return byte === 0x20 || byte === 0x0a || byte === 0x0d || byte === 0x09;
}

function skipSpace(bytes: Buffer, at: number): number {
  while (at < bytes.length && isSpace(bytes[at])) at++;
  return at;
}

/** The offset just past the string that opens at `at`, or -1 if it never closes. */
function skipString(bytes: Buffer, at: number): number {
  let from = at + 1;
  for (;;) {
    const quote = bytes.indexOf(QUOTE, from);
    if (quote < 0) return -1;
    let backslashes = 0;
    for (let before = quote - 1; before > at && bytes[before] === BACKSLASH; before--) backslashes++;
    if ((backslashes & 1) === 0) return quote + 1;
    from = quote + 1;
  }
}

/** The offset just past the value that starts at `at`, or -1 if it is not well formed. */
function skipValue(bytes: Buffer, at: number): number {
  const first = bytes[at];
  if (first === QUOTE) return skipString(bytes, at);
  if (first === OPEN_OBJECT || first === OPEN_ARRAY) return skipContainer(bytes, at);
  let end = at;
  while (end < bytes.length && !isDelimiter(bytes[end]!)) end++;
  if (end === at || end - at > 64) return -1;
  return SCALAR.test(bytes.toString('latin1', at, end)) ? end : -1;
}

function isDelimiter(byte: number): boolean {
  return byte === COMMA || byte === CLOSE_OBJECT || byte === CLOSE_ARRAY || isSpace(byte);
}

/** Balanced brackets, strings closed; no recursion, so nesting 100,000 deep costs what its bytes cost. */
function skipContainer(bytes: Buffer, at: number): number {
  const closers: number[] = [];
  for (let i = at; i < bytes.length; i++) {
    const byte = bytes[i];
    if (byte === QUOTE) {
      const after = skipString(bytes, i);
      if (after < 0) return -1;
      i = after - 1;
    } else if (byte === OPEN_OBJECT) closers.push(CLOSE_OBJECT);
    else if (byte === OPEN_ARRAY) closers.push(CLOSE_ARRAY);
    else if (byte === CLOSE_OBJECT || byte === CLOSE_ARRAY) {
      if (closers.pop() !== byte) return -1;
      if (closers.length === 0) return i + 1;
    }
  }
  return -1;
}

function memberName(bytes: Buffer, start: number, end: number): string | undefined {
  let escaped = false;
  for (let i = start + 1; i < end - 1 && !escaped; i++) escaped = bytes[i] === BACKSLASH;
  if (!escaped) return bytes.toString('utf8', start + 1, end - 1);
  try {
    return JSON.parse(bytes.toString('utf8', start, end)) as string;
  } catch {
    return undefined;
  }
}

/**
 * A JSON string without escapes, read where it lies in the bytes: as long as its bytes, sliced
 * on demand. For base64 payloads (ASCII), which are too large to copy for the few bytes read.
 */
export class SpanText {
  constructor(
    private readonly bytes: Buffer,
    private readonly start: number,
    private readonly end: number,
  ) {}

  get length(): number {
    return this.end - this.start;
  }

  slice(from = 0, to = this.length): string {
    const at = (index: number) => Math.min(this.length, Math.max(0, index < 0 ? this.length + index : index));
    return this.bytes.toString('latin1', this.start + at(from), this.start + Math.max(at(from), at(to)));
  }
}
