// @ts-check
/**
 * The thread that counts tokens, so that tokenizing a long prompt (about 47 µs per KB with
 * gpt-tokenizer's o200k_base, 48 ms for 1 MB) never holds up the requests and streams on the
 * event loop.
 *
 * Plain JavaScript on purpose: a worker thread starts from a file Node can run as it is, and this
 * one must start alike from `src/` under the tests and from `dist/` in the package.
 */
import { createHash } from 'node:crypto';
import { isMainThread, parentPort, workerData } from 'node:worker_threads';

/** @typedef {(text: string) => number} Counter */

/**
 * Every turn of a chat sends the whole conversation again (the system prompt, a pasted document):
 * counts of recent texts are kept, so each is tokenized once rather than on every request that
 * repeats it. Texts longer than `hashFrom` are remembered by their SHA-1, so a 1 MB document costs
 * 20 bytes to remember and a hash (about 1 ms) to recognize. Bounded by count and by the length
 * of the texts held.
 *
 * @param {Counter} count
 * @param {{ texts: number; chars: number; hashFrom: number }} [limits]
 * @returns {Counter}
 */
export function remembering(count, limits = { texts: 4096, chars: 4 * 1024 * 1024, hashFrom: 4096 }) {
  /** @type {Map<string, number>} */
  const known = new Map();
  let chars = 0;
  return (text) => {
    const key = text.length > limits.hashFrom ? `#${createHash('sha1').update(text).digest('base64')}` : text;
    if (key.length > limits.chars) return count(text);
    let tokens = known.get(key);
    if (tokens === undefined) {
      tokens = count(text);
      // Map keys keep their insertion order: the first is the oldest.
      while (known.size > 0 && (known.size >= limits.texts || chars + key.length > limits.chars)) {
        const oldest = /** @type {string} */ (known.keys().next().value);
        known.delete(oldest);
        chars -= oldest.length;
      }
      known.set(key, tokens);
      chars += key.length;
    }
    return tokens;
  };
}

const PIECE = 4096;

/**
 * Counts a long text piece by piece. gpt-tokenizer's merges take time quadratic in the length of one
 * word: a 100 KB run without a space (base64, a minified file) takes seconds, 1 MB minutes. Pieces
 * of at most 4,096 characters, cut just before a space that starts a word (where the tokenizer
 * starts a new piece of its own anyway), give prose and code the same count as the whole text;
 * a long word is cut where it must be, and each piece still counts at least a token a byte at most.
 *
 * @param {Counter} count
 * @param {string} text
 */
export function countInPieces(count, text) {
  if (text.length <= PIECE) return count(text);
  let total = 0;
  for (let start = 0; start < text.length; ) {
    let end = Math.min(text.length, start + PIECE);
    if (end < text.length) {
      let cut = end;
      while (cut > start + PIECE / 2 && !betweenWords(text, cut)) cut--;
      if (cut > start + PIECE / 2) end = cut;
      else if (isHighSurrogate(text.charCodeAt(end - 1))) end--;
    }
    total += count(text.slice(start, end));
    start = end;
  }
  return total;
}

const WORD_CHARACTER = /[\p{L}\p{N}]/u;

/** Whether `text` has, at `at`, a single space before a word. @param {string} text @param {number} at */
function betweenWords(text, at) {
  return text.charCodeAt(at) === 0x20 && !/\s/.test(text.charAt(at - 1)) && WORD_CHARACTER.test(text.charAt(at + 1));
}

/** @param {number} code */
function isHighSurrogate(code) {
  return code >= 0xd800 && code <= 0xdbff;
}

/** @typedef {{ id: number; texts?: string[]; bytes?: Uint8Array; spans?: [number, number][] }} CountRequest */

/**
 * The texts of a request, decoded where they lie in its bytes: a JSON string is parsed, any other
 * JSON value is taken as written.
 *
 * @param {Uint8Array} bytes
 * @param {[number, number][]} spans
 * @returns {string[]}
 */
export function textsAt(bytes, spans) {
  const buffer = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  return spans.map(([start, end]) => {
    const text = buffer.toString('utf8', start, end);
    return buffer[start] === 0x22 ? String(JSON.parse(text)) : text;
  });
}

if (!isMainThread && parentPort && workerData?.encoder) {
  const port = parentPort;
  /** @type {{ countTokens: (text: string) => number }} */
  const encoder = await import(workerData.encoder);
  const count = remembering((text) => countInPieces(encoder.countTokens, text));
  port.on('message', (/** @type {CountRequest} */ { id, texts, bytes, spans }) => {
    try {
      let total = 0;
      for (const text of texts ?? []) total += count(text);
      if (bytes && spans) for (const text of textsAt(bytes, spans)) total += count(text);
      port.postMessage({ id, total });
    } catch (err) {
      port.postMessage({ id, error: err instanceof Error ? err.message : String(err) });
    }
  });
  port.postMessage({ ready: true });
}
