/**
 * What a request's prompt costs in tokens, in two steps. On the request path, `promptParts` walks
 * the prompt where it lies in the body's bytes, parsing nothing but the small fields it reads: media
 * are counted by their own rules (exact, from their headers), and each text's place is noted, not
 * decoded. Its bound is the texts' length in bytes, since no token is shorter than a byte (and no
 * JSON escape is shorter than what it stands for); that is what admission reserves. The exact
 * count (`countPrompt`) decodes and tokenizes the texts on a worker thread, for the few requests
 * that need it: one that does not fit its limit on the bound, and answers whose upstream reports
 * no usage.
 */
import { AifdError, invalidJson } from '../errors.js';
import { arrayAt, hasEscapes, kindAt, objectAt, SpanText, type MemberSpan } from '../util/json-spans.js';
import {
  audioTokens,
  claudeImageTokens,
  fileTokens,
  imageUrlTokens,
  MAX_IMAGES_PER_REQUEST,
  named,
  type MediaText,
  type Where,
} from './media-tokens.js';
import { countTokens } from './token-count.js';
import type { Usage } from './usage.js';

/** A prompt's estimated tokens, with the parts billed at their own rates. */
export interface PromptEstimate {
  tokens: number;
  /** Of `tokens`, audio (input_audio parts). */
  audioTokens: number;
  /** Of `tokens`, images (by the published image rules). */
  imageTokens: number;
}

/** A JSON request body as the walk reads it: its bytes, and where its top-level members lie. */
export interface PromptSource {
  readonly source: Buffer;
  span(name: string): MemberSpan | undefined;
}

/** A prompt as tokens known without a tokenizer, and the places of the texts a tokenizer would count. */
export interface PromptParts {
  model: string | undefined;
  bytes: Buffer;
  /** Message framing, token arrays, and media (by their rules). */
  knownTokens: number;
  audioTokens: number;
  imageTokens: number;
  /** Each text as [start, end) in `bytes`: a JSON string (quotes included) or another JSON value, counted as written. */
  texts: [number, number][];
  /** The texts' length in bytes, less the quotes. */
  textBytes: number;
}

/**
 * The parts of a request's prompt: chat messages (text, image, audio and file parts), a completion
 * prompt, an embedding input (token arrays count their length), or a Responses API `input` with its
 * `instructions`. Media are counted by their own rules, never as text. Throws an OpenAI-shaped 400
 * for media the upstream would refuse too (see media-tokens.ts), and for a prompt that is not JSON.
 */
export function promptParts(model: string | undefined, body: PromptSource | undefined): PromptParts {
  const parts: PromptParts = {
    model,
    bytes: body?.source ?? EMPTY,
    knownTokens: 0,
    audioTokens: 0,
    imageTokens: 0,
    texts: [],
    textBytes: 0,
  };
  if (!body) return parts;
  const walker = new PromptWalker(parts);
  // Anthropic's Messages API: the system prompt is its own member, a string or text blocks.
  const system = body.span('system');
  if (system && kindAt(parts.bytes, system.valueStart) === 'array')
    walker.items(system.valueStart, (at, index, end) => walker.block(at, end, () => `system[${index}]`));
  else if (system) walker.text(system.valueStart, system.valueEnd);
  const messages = body.span('messages');
  if (messages && kindAt(parts.bytes, messages.valueStart) === 'array') {
    // OpenAI's published rule of thumb: 3 tokens per message of framing, 3 to prime the reply.
    parts.knownTokens += 3;
    walker.items(messages.valueStart, (at, index) => walker.message(at, () => `messages[${index}]`));
    return parts;
  }
  const instructions = body.span('instructions');
  if (instructions && kindAt(parts.bytes, instructions.valueStart) === 'string')
    walker.text(instructions.valueStart, instructions.valueEnd);
  const input = body.span('prompt') ?? body.span('input');
  if (!input) return parts;
  const kind = kindAt(parts.bytes, input.valueStart);
  if (kind === 'string') walker.text(input.valueStart, input.valueEnd);
  else if (kind === 'array')
    walker.items(input.valueStart, (at, index, end) => walker.inputItem(at, end, () => `input[${index}]`));
  return parts;
}

const EMPTY = Buffer.alloc(0);

/** At least the prompt's tokens. */
export function promptBound(parts: PromptParts): PromptEstimate {
  return {
    tokens: parts.knownTokens + parts.textBytes,
    audioTokens: parts.audioTokens,
    imageTokens: parts.imageTokens,
  };
}

/** The prompt's tokens, its texts tokenized off the event loop. */
export async function countPrompt(parts: PromptParts): Promise<PromptEstimate> {
  const textTokens = await countTokens(parts.model, { bytes: parts.bytes, spans: parts.texts });
  return { tokens: parts.knownTokens + textTokens, audioTokens: parts.audioTokens, imageTokens: parts.imageTokens };
}

class PromptWalker {
  private images = 0;
  private readonly bytes: Buffer;

  constructor(private readonly parts: PromptParts) {
    this.bytes = parts.bytes;
  }

  items(at: number, each: (at: number, index: number, end: number) => void): void {
    const array = arrayAt(this.bytes, at);
    if (!array) throw invalidJson();
    for (const [index, [start, end]] of array.items.entries()) each(start, index, end);
  }

  message(at: number, where: Where): void {
    this.parts.knownTokens += 3;
    if (kindAt(this.bytes, at) !== 'object') return;
    for (const [field, span] of this.members(at)) {
      if (field === 'content' && kindAt(this.bytes, span.valueStart) === 'array') {
        this.items(span.valueStart, (part, index, end) =>
          this.part(part, end, () => `${named(where)}.content[${index}]`),
        );
      } else this.text(span.valueStart, span.valueEnd);
    }
  }

  /** A Responses API input item, a completion prompt's piece, or an embedding input. */
  inputItem(at: number, end: number, where: Where): void {
    const kind = kindAt(this.bytes, at);
    const tokenArray = kind === 'array' ? this.tokenArrayLength(at) : undefined;
    if (kind === 'number') this.parts.knownTokens += 1;
    else if (tokenArray !== undefined) this.parts.knownTokens += tokenArray;
    else if (kind === 'object') {
      const members = this.members(at);
      if (members.has('content')) this.message(at, where);
      else if (members.has('type')) this.part(at, end, where);
      else this.text(at, end);
    } else this.text(at, end);
  }

  /** A content block outside a message (Anthropic's system prompt as blocks). */
  block(at: number, end: number, where: Where): void {
    this.part(at, end, where);
  }

  private part(at: number, end: number, where: Where): void {
    if (kindAt(this.bytes, at) !== 'object') return this.text(at, end);
    const p = this.members(at);
    switch (this.small(p.get('type'))) {
      case 'text':
      case 'input_text':
      case 'output_text': {
        const text = p.get('text');
        return text ? this.text(text.valueStart, text.valueEnd) : undefined;
      }
      case 'image_url': {
        const image = p.get('image_url');
        const inner =
          image && kindAt(this.bytes, image.valueStart) === 'object' ? this.members(image.valueStart) : undefined;
        return inner
          ? this.image(this.media(inner.get('url')), this.small(inner.get('detail')), where)
          : this.image(this.media(image), undefined, where);
      }
      case 'input_image':
        return this.image(this.media(p.get('image_url')), this.small(p.get('detail')), where);
      case 'input_audio': {
        const audio = p.get('input_audio');
        const inner = audio && kindAt(this.bytes, audio.valueStart) === 'object' ? this.members(audio.valueStart) : p;
        return this.add(
          'audioTokens',
          audioTokens(this.media(inner.get('data')), this.small(inner.get('format')), where),
        );
      }
      case 'file': {
        const file = p.get('file');
        const inner =
          file && kindAt(this.bytes, file.valueStart) === 'object'
            ? this.members(file.valueStart)
            : new Map<string, MemberSpan>();
        return this.add(
          undefined,
          fileTokens(this.media(inner.get('file_data')), this.small(inner.get('file_id')), where),
        );
      }
      case 'input_file':
        return this.add(undefined, fileTokens(this.media(p.get('file_data')), this.small(p.get('file_id')), where));
      case 'image':
        return this.claudeImage(p, where);
      case 'document':
        return this.claudeDocument(p, at, end, where);
      default:
        return this.text(at, end);
    }
  }

  /** An Anthropic image block: `source` of type base64 (its size read from it), url or file. */
  private claudeImage(block: Map<string, MemberSpan>, where: Where): void {
    this.countImage(where);
    const source = this.sourceOf(block);
    const data = source && this.small(source.get('type')) === 'base64' ? this.media(source.get('data')) : undefined;
    this.add('imageTokens', claudeImageTokens(data, where));
  }

  /** An Anthropic document block: a base64 file (PDF) by the file bound, a text source as text. */
  private claudeDocument(block: Map<string, MemberSpan>, at: number, end: number, where: Where): void {
    const source = this.sourceOf(block);
    const type = source ? this.small(source.get('type')) : undefined;
    if (type === 'base64') return this.add(undefined, fileTokens(this.media(source!.get('data')), undefined, where));
    if (type === 'text') {
      const data = source!.get('data');
      return data ? this.text(data.valueStart, data.valueEnd) : undefined;
    }
    if (type === 'file' || type === 'url') return this.add(undefined, fileTokens(undefined, 'file', where));
    return this.text(at, end);
  }

  private sourceOf(block: Map<string, MemberSpan>): Map<string, MemberSpan> | undefined {
    const source = block.get('source');
    return source && kindAt(this.bytes, source.valueStart) === 'object' ? this.members(source.valueStart) : undefined;
  }

  private image(url: MediaText | unknown, detail: unknown, where: Where): void {
    this.countImage(where);
    this.add('imageTokens', imageUrlTokens(this.parts.model, url, detail, where));
  }

  /** One more image in the request; past the most the API takes, a 400. */
  private countImage(where: Where): void {
    if (++this.images > MAX_IMAGES_PER_REQUEST) {
      throw new AifdError('invalid_request', `a request may hold at most ${MAX_IMAGES_PER_REQUEST} images`, {
        param: named(where),
      });
    }
  }

  private add(kind: 'audioTokens' | 'imageTokens' | undefined, tokens: number): void {
    this.parts.knownTokens += tokens;
    if (kind) this.parts[kind] += tokens;
  }

  /** A text to count: a string, or any other value as written (null counts nothing). */
  text(start: number, end: number): void {
    if (this.bytes[start] === 0x6e /* n */ && end - start === 4) return;
    this.parts.texts.push([start, end]);
    this.parts.textBytes += kindAt(this.bytes, start) === 'string' ? end - start - 2 : end - start;
  }

  private members(at: number): Map<string, MemberSpan> {
    const object = objectAt(this.bytes, at);
    if (!object) throw invalidJson();
    return object.members;
  }

  /** A small value (a type, a detail level, a format, an id), parsed. */
  private small(span: MemberSpan | undefined): unknown {
    if (!span) return undefined;
    try {
      return JSON.parse(this.bytes.toString('utf8', span.valueStart, span.valueEnd));
    } catch {
      throw invalidJson();
    }
  }

  /** A media payload: read in place unless escapes make that impossible (then decoded). */
  private media(span: MemberSpan | undefined): MediaText | unknown {
    if (!span) return undefined;
    const { valueStart, valueEnd } = span;
    if (kindAt(this.bytes, valueStart) !== 'string') return this.small(span);
    if (!hasEscapes(this.bytes, valueStart + 1, valueEnd - 1))
      return new SpanText(this.bytes, valueStart + 1, valueEnd - 1);
    return this.small(span);
  }

  /** The length of an array of token ids (undefined when it holds anything but numbers). */
  private tokenArrayLength(at: number): number | undefined {
    const array = arrayAt(this.bytes, at);
    return array?.items.every(([start]) => kindAt(this.bytes, start) === 'number') ? array.items.length : undefined;
  }
}

/** The tokens of an answer's delivered text, tokenized off the event loop. */
export function completionTokens(model: string | undefined, text: string): Promise<number> {
  return text === '' ? Promise.resolve(0) : countTokens(model, { texts: [text] });
}

/**
 * Usage for an answer whose upstream reported none: the prompt and what was delivered, tokenized
 * off the event loop.
 */
export async function estimateUsage(
  model: string | undefined,
  body: PromptSource | undefined,
  completionText: string,
): Promise<Usage> {
  const [prompt, completion] = await Promise.all([
    // A prompt the walk refuses (not JSON, bad media) is charged as nothing, not as a failed record.
    Promise.resolve()
      .then(() => countPrompt(promptParts(model, body)))
      .catch(() => undefined),
    completionTokens(model, completionText),
  ]);
  const usage: Usage = {
    prompt_tokens: prompt?.tokens ?? 0,
    completion_tokens: completion,
    total_tokens: (prompt?.tokens ?? 0) + completion,
  };
  if (prompt?.audioTokens) usage.audio_prompt_tokens = prompt.audioTokens;
  return usage;
}
