/**
 * Token estimates for upstreams that report no usage, with the tokenizer of the model's encoding
 * (o200k_base for the gpt-4o family, gpt-4.1, gpt-5 and o-series; cl100k_base for older models).
 * The encoders are large, so they load on first use only.
 */
import { AifdError } from '../errors.js';
import { audioTokens, fileTokens, imageUrlTokens, MAX_IMAGES_PER_REQUEST } from './media-tokens.js';
import type { Usage } from './usage.js';

export type Counter = (text: string) => number;

const counters = new Map<string, Promise<Counter>>();

/**
 * Every turn of a chat sends the whole conversation again (the system prompt first): counts of
 * recent texts are kept, so each is tokenized once rather than on every request that repeats it.
 * Bounded by count and by their total length, so long prompts cannot make it hold hundreds of MB.
 */
const REMEMBERED_TEXTS = 4096;
const REMEMBERED_CHARS = 4 * 1024 * 1024;
const LONGEST_REMEMBERED = 64 * 1024;

export function remembering(count: Counter, limits = { texts: REMEMBERED_TEXTS, chars: REMEMBERED_CHARS }): Counter {
  const known = new Map<string, number>();
  let chars = 0;
  return (text) => {
    if (text.length > LONGEST_REMEMBERED || text.length > limits.chars) return count(text);
    let tokens = known.get(text);
    if (tokens === undefined) {
      tokens = count(text);
      // Map keys keep their insertion order: the first is the oldest.
      while (known.size > 0 && (known.size >= limits.texts || chars + text.length > limits.chars)) {
        const oldest = known.keys().next().value!;
        known.delete(oldest);
        chars -= oldest.length;
      }
      known.set(text, tokens);
      chars += text.length;
    }
    return tokens;
  };
}

function encodingFor(model: string | undefined): 'o200k_base' | 'cl100k_base' {
  if (!model) return 'o200k_base';
  return /^(gpt-4o|gpt-4\.1|gpt-4\.5|gpt-5|o\d|chatgpt-4o|omni)/.test(model) ? 'o200k_base' : 'cl100k_base';
}

async function counterFor(model: string | undefined): Promise<Counter> {
  const encoding = encodingFor(model);
  let counter = counters.get(encoding);
  if (!counter) {
    counter = (encoding === 'o200k_base' ? import('gpt-tokenizer/encoding/o200k_base') : import('gpt-tokenizer/encoding/cl100k_base')).then(
      (module) => remembering((text: string) => module.countTokens(text)),
    );
    counters.set(encoding, counter);
  }
  return counter;
}

/**
 * Loads the current models' encoder (o200k_base) now, not on the first request that needs it:
 * building it takes a few hundred milliseconds, which that request would wait for. The older
 * encoder (about as large in memory) still loads on first use, for deployments that use such models.
 */
export async function loadTokenizer(): Promise<void> {
  await counterFor(undefined);
}

/** A prompt's estimated tokens, with the parts billed at their own rates. */
export interface PromptEstimate {
  tokens: number;
  /** Of `tokens`, audio (input_audio parts). */
  audioTokens: number;
  /** Of `tokens`, images (by the published image rules). */
  imageTokens: number;
}

/**
 * Tokens a request's prompt takes: chat messages (text, image, audio and file parts), a completion
 * prompt, an embedding input (token arrays count their length), or a Responses API `input` with its
 * `instructions`. Media are counted by their own rules, never as text. Throws an OpenAI-shaped 400
 * for media the upstream would refuse too (see media-tokens.ts).
 */
export async function estimatePrompt(model: string | undefined, body: Record<string, unknown> | undefined): Promise<PromptEstimate> {
  const estimate: PromptEstimate = { tokens: 0, audioTokens: 0, imageTokens: 0 };
  if (!body) return estimate;
  const count = await counterFor(model);
  const walker = new PromptWalker(model, count, estimate);
  if (Array.isArray(body.messages)) {
    // OpenAI's published rule of thumb: 3 tokens per message of framing, 3 to prime the reply.
    estimate.tokens += 3;
    (body.messages as unknown[]).forEach((message, index) => walker.message(message, `messages[${index}]`));
    return estimate;
  }
  if (typeof body.instructions === 'string') estimate.tokens += count(body.instructions);
  const input = body.prompt ?? body.input;
  if (typeof input === 'string') estimate.tokens += count(input);
  else if (Array.isArray(input)) input.forEach((item, index) => walker.inputItem(item, `input[${index}]`));
  return estimate;
}

class PromptWalker {
  private images = 0;

  constructor(
    private readonly model: string | undefined,
    private readonly count: Counter,
    private readonly estimate: PromptEstimate,
  ) {}

  message(message: unknown, where: string): void {
    this.estimate.tokens += 3;
    if (!message || typeof message !== 'object') return;
    for (const [field, value] of Object.entries(message)) {
      if (field === 'content' && Array.isArray(value)) value.forEach((part, index) => this.part(part, `${where}.content[${index}]`));
      else this.text(value);
    }
  }

  /** A Responses API input item, a completion prompt's piece, or an embedding input. */
  inputItem(item: unknown, where: string): void {
    if (typeof item === 'number') this.estimate.tokens += 1;
    else if (Array.isArray(item) && item.every((token) => typeof token === 'number')) this.estimate.tokens += item.length;
    else if (item && typeof item === 'object' && 'content' in item) this.message(item, where);
    else if (item && typeof item === 'object' && 'type' in item) this.part(item, where);
    else this.text(item);
  }

  private part(part: unknown, where: string): void {
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

  private image(url: unknown, detail: unknown, where: string): void {
    if (++this.images > MAX_IMAGES_PER_REQUEST) {
      throw new AifdError('invalid_request', `a request may hold at most ${MAX_IMAGES_PER_REQUEST} images`, { param: where });
    }
    this.add('imageTokens', imageUrlTokens(this.model, url, detail, where));
  }

  private add(kind: 'audioTokens' | 'imageTokens' | undefined, tokens: number): void {
    this.estimate.tokens += tokens;
    if (kind) this.estimate[kind] += tokens;
  }

  private text(value: unknown): void {
    if (value === undefined || value === null) return;
    this.estimate.tokens += this.count(typeof value === 'string' ? value : JSON.stringify(value));
  }
}

export async function estimateTextTokens(model: string | undefined, text: string): Promise<number> {
  if (text === '') return 0;
  return (await counterFor(model))(text);
}

export async function estimateUsage(model: string | undefined, body: Record<string, unknown> | undefined, completionText: string): Promise<Usage> {
  const [prompt, completion] = await Promise.all([estimatePrompt(model, body).catch(() => undefined), estimateTextTokens(model, completionText)]);
  const usage: Usage = { prompt_tokens: prompt?.tokens ?? 0, completion_tokens: completion, total_tokens: (prompt?.tokens ?? 0) + completion };
  if (prompt?.audioTokens) usage.audio_prompt_tokens = prompt.audioTokens;
  return usage;
}
