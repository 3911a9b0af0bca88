/**
 * Token estimates for upstreams that report no usage, with the tokenizer of the model's encoding
 * (o200k_base for the gpt-4o family, gpt-4.1, gpt-5 and o-series; cl100k_base for older models).
 * The encoders are large, so they load on first use only.
 */
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

/** Tokens a chat request's messages (or a completion prompt, or an embedding input) take. */
export async function estimatePromptTokens(model: string | undefined, body: Record<string, unknown> | undefined): Promise<number> {
  if (!body) return 0;
  const count = await counterFor(model);
  if (Array.isArray(body.messages)) {
    // OpenAI's published rule of thumb: 3 tokens per message of framing, 3 to prime the reply.
    let tokens = 3;
    for (const message of body.messages as Record<string, unknown>[]) {
      tokens += 3;
      for (const value of Object.values(message ?? {})) tokens += count(typeof value === 'string' ? value : JSON.stringify(value ?? ''));
    }
    return tokens;
  }
  const input = body.prompt ?? body.input;
  if (typeof input === 'string') return count(input);
  if (Array.isArray(input)) return input.reduce<number>((sum, item) => sum + count(typeof item === 'string' ? item : JSON.stringify(item)), 0);
  return 0;
}

export async function estimateTextTokens(model: string | undefined, text: string): Promise<number> {
  if (text === '') return 0;
  return (await counterFor(model))(text);
}

export async function estimateUsage(model: string | undefined, body: Record<string, unknown> | undefined, completionText: string): Promise<Usage> {
  const [prompt, completion] = await Promise.all([estimatePromptTokens(model, body), estimateTextTokens(model, completionText)]);
  return { prompt_tokens: prompt, completion_tokens: completion, total_tokens: prompt + completion };
}
