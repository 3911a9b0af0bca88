/**
 * What a request's prompt costs in tokens, in two steps. On the request path, `promptParts` walks
 * the parsed body once: media are counted by their own rules (exact, from their headers), and the
 * texts are collected, not tokenized; `promptBound` then bounds the texts by their UTF-8 length,
 * since no token is shorter than a byte. That bound is what admission reserves. The exact count
 * (`countPrompt`) tokenizes the texts on a worker thread, for the few requests that need it: one
 * that does not fit its limit on the bound, and answers whose upstream reports no usage.
 */
import { AifdError } from '../errors.js';
import { audioTokens, fileTokens, imageUrlTokens, MAX_IMAGES_PER_REQUEST, named, type Where } from './media-tokens.js';
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

/** A prompt as tokens known without a tokenizer, and the texts a tokenizer would count. */
export interface PromptParts {
  model: string | undefined;
  /** Message framing, token arrays, and media (by their rules). */
  knownTokens: number;
  audioTokens: number;
  imageTokens: number;
  texts: string[];
  /**
   * A bound for values too deeply nested to write out as text (thousands of levels): the body's
   * length, since their tokens cannot outnumber its bytes.
   */
  unmeasuredTokens: number;
}

/**
 * The parts of a request's prompt: chat messages (text, image, audio and file parts), a completion
 * prompt, an embedding input (token arrays count their length), or a Responses API `input` with its
 * `instructions`. Media are counted by their own rules, never as text. Throws an OpenAI-shaped 400
 * for media the upstream would refuse too (see media-tokens.ts). `bodyBytes` is the body's length.
 */
export function promptParts(model: string | undefined, body: Record<string, unknown> | undefined, bodyBytes = 0): PromptParts {
  const parts: PromptParts = { model, knownTokens: 0, audioTokens: 0, imageTokens: 0, texts: [], unmeasuredTokens: 0 };
  if (!body) return parts;
  const walker = new PromptWalker(parts, bodyBytes);
  if (Array.isArray(body.messages)) {
    // OpenAI's published rule of thumb: 3 tokens per message of framing, 3 to prime the reply.
    parts.knownTokens += 3;
    const messages = body.messages as unknown[];
    for (let index = 0; index < messages.length; index++) walker.message(messages[index], () => `messages[${index}]`);
    return parts;
  }
  if (typeof body.instructions === 'string') parts.texts.push(body.instructions);
  const input = body.prompt ?? body.input;
  if (typeof input === 'string') parts.texts.push(input);
  else if (Array.isArray(input)) for (let index = 0; index < input.length; index++) walker.inputItem(input[index], () => `input[${index}]`);
  return parts;
}

/** At least the prompt's tokens, at the cost of measuring its texts' UTF-8 length. */
export function promptBound(parts: PromptParts): PromptEstimate {
  let textBytes = 0;
  for (const text of parts.texts) textBytes += Buffer.byteLength(text, 'utf8');
  return { tokens: parts.knownTokens + parts.unmeasuredTokens + textBytes, audioTokens: parts.audioTokens, imageTokens: parts.imageTokens };
}

/** The prompt's tokens, its texts tokenized off the event loop. */
export async function countPrompt(parts: PromptParts): Promise<PromptEstimate> {
  const textTokens = await countTokens(parts.model, parts.texts);
  return { tokens: parts.knownTokens + parts.unmeasuredTokens + textTokens, audioTokens: parts.audioTokens, imageTokens: parts.imageTokens };
}

class PromptWalker {
  private images = 0;

  constructor(
    private readonly parts: PromptParts,
    private readonly bodyBytes: number,
  ) {}

  message(message: unknown, where: Where): void {
    this.parts.knownTokens += 3;
    if (!message || typeof message !== 'object') return;
    for (const field in message) {
      const value = (message as Record<string, unknown>)[field];
      if (field === 'content' && Array.isArray(value)) {
        for (let index = 0; index < value.length; index++) this.part(value[index], () => `${named(where)}.content[${index}]`);
      } else this.text(value);
    }
  }

  /** A Responses API input item, a completion prompt's piece, or an embedding input. */
  inputItem(item: unknown, where: Where): void {
    if (typeof item === 'number') this.parts.knownTokens += 1;
    else if (Array.isArray(item) && item.every((token) => typeof token === 'number')) this.parts.knownTokens += item.length;
    else if (item && typeof item === 'object' && 'content' in item) this.message(item, where);
    else if (item && typeof item === 'object' && 'type' in item) this.part(item, where);
    else this.text(item);
  }

  private part(part: unknown, where: Where): void {
    if (!part || typeof part !== 'object') return this.text(part);
    const p = part as Record<string, any>;
    switch (p.type) {
      case 'text':
      case 'input_text':
      case 'output_text':
        return this.text(p.text);
      case 'image_url':
        return this.image(p.image_url?.url ?? p.image_url, p.image_url?.detail, where);
      case 'input_image':
        return this.image(p.image_url, p.detail, where);
      case 'input_audio':
        return this.add('audioTokens', audioTokens(p.input_audio?.data ?? p.data, p.input_audio?.format ?? p.format, where));
      case 'file':
        return this.add(undefined, fileTokens(p.file?.file_data, p.file?.file_id, where));
      case 'input_file':
        return this.add(undefined, fileTokens(p.file_data, p.file_id, where));
      default:
        return this.text(part);
    }
  }

  private image(url: unknown, detail: unknown, where: Where): void {
    if (++this.images > MAX_IMAGES_PER_REQUEST) {
      throw new AifdError('invalid_request', `a request may hold at most ${MAX_IMAGES_PER_REQUEST} images`, { param: named(where) });
    }
    this.add('imageTokens', imageUrlTokens(this.parts.model, url, detail, where));
  }

  private add(kind: 'audioTokens' | 'imageTokens' | undefined, tokens: number): void {
    this.parts.knownTokens += tokens;
    if (kind) this.parts[kind] += tokens;
  }

  private text(value: unknown): void {
    if (value === undefined || value === null) return;
    if (typeof value === 'string') {
      this.parts.texts.push(value);
      return;
    }
    let text: string;
    try {
      text = JSON.stringify(value);
    } catch {
      this.parts.unmeasuredTokens = this.bodyBytes;
      return;
    }
    this.parts.texts.push(text);
  }
}

/**
 * Usage for an answer whose upstream reported none: the prompt and what was delivered, tokenized.
 * `body` is read only here, so that a request nobody estimates is never parsed whole for it.
 */
export async function estimateUsage(model: string | undefined, body: () => Record<string, unknown> | undefined, completionText: string): Promise<Usage> {
  let prompt: PromptEstimate | undefined;
  try {
    prompt = await countPrompt(promptParts(model, body()));
  } catch {
    prompt = undefined;
  }
  const completion = completionText === '' ? 0 : await countTokens(model, [completionText]);
  const usage: Usage = { prompt_tokens: prompt?.tokens ?? 0, completion_tokens: completion, total_tokens: (prompt?.tokens ?? 0) + completion };
  if (prompt?.audioTokens) usage.audio_prompt_tokens = prompt.audioTokens;
  return usage;
}
