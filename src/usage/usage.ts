/** Token usage in the Chat Completions shape, whatever API it came from. */
export interface Usage {
  prompt_tokens: number;
  completion_tokens: number;
  total_tokens: number;
  /** Prompt tokens served from OpenAI's prompt cache (`prompt_tokens_details.cached_tokens`). */
  cached_tokens?: number;
  /** Of the cached tokens, those that were audio, where the API says so (Realtime). */
  cached_audio_tokens?: number;
  /** Prompt tokens that were audio (part of prompt_tokens; billed at the audio rate). */
  audio_prompt_tokens?: number;
  /** Prompt tokens that were images, where the API says so (Realtime, image generation). */
  image_prompt_tokens?: number;
  /** Completion tokens that were audio (part of completion_tokens). */
  audio_completion_tokens?: number;
  /** Completion tokens spent reasoning (part of completion_tokens, billed as output). */
  reasoning_tokens?: number;
  /**
   * Prompt tokens written to the prompt cache (Anthropic's cache_creation_input_tokens): part of
   * prompt_tokens, billed at the cache-write rate.
   */
  cache_write_tokens?: number;
  /** Of the cache writes, those kept for an hour (billed at the 1-hour rate). */
  cache_write_1h_tokens?: number;
}

export type UsageSource = 'upstream' | 'estimated';

/**
 * Reads a `usage` object from any OpenAI API: chat and completions (prompt/completion tokens with
 * `*_tokens_details`), embeddings (prompt tokens only), responses and images (input/output tokens
 * with `input_tokens_details`), Realtime's `response.done` (`input_token_details`, no s).
 */
export function normalizeUsage(raw: unknown): Usage | undefined {
  if (!raw || typeof raw !== 'object') return undefined;
  const usage = raw as Record<string, any>;
  const prompt = number(usage.prompt_tokens) ?? number(usage.input_tokens);
  const completion = number(usage.completion_tokens) ?? number(usage.output_tokens) ?? 0;
  if (prompt === undefined) return undefined;
  const total = number(usage.total_tokens) ?? prompt + completion;
  const out: Usage = { prompt_tokens: prompt, completion_tokens: completion, total_tokens: total };
  const input = usage.prompt_tokens_details ?? usage.input_tokens_details ?? usage.input_token_details;
  const output = usage.completion_tokens_details ?? usage.output_tokens_details ?? usage.output_token_details;
  keep(out, 'cached_tokens', input?.cached_tokens);
  keep(out, 'cached_audio_tokens', input?.cached_tokens_details?.audio_tokens);
  keep(out, 'audio_prompt_tokens', input?.audio_tokens);
  keep(out, 'image_prompt_tokens', input?.image_tokens);
  keep(out, 'audio_completion_tokens', output?.audio_tokens);
  keep(out, 'reasoning_tokens', output?.reasoning_tokens);
  return out;
}

type Detail =
  | 'cached_tokens'
  | 'cached_audio_tokens'
  | 'audio_prompt_tokens'
  | 'image_prompt_tokens'
  | 'audio_completion_tokens'
  | 'reasoning_tokens'
  | 'cache_write_tokens'
  | 'cache_write_1h_tokens';

/**
 * Anthropic's usage (the Messages API's answer, `message_start` and `message_delta`): its
 * `input_tokens` leave out what was read from or written to the prompt cache, so the prompt is
 * all three, as OpenAI's prompt_tokens include the cached ones.
 */
export function normalizeAnthropicUsage(raw: unknown): Usage | undefined {
  if (!raw || typeof raw !== 'object') return undefined;
  const usage = raw as Record<string, any>;
  const input = number(usage.input_tokens);
  if (input === undefined) return undefined;
  const read = number(usage.cache_read_input_tokens) ?? 0;
  const written = number(usage.cache_creation_input_tokens) ?? 0;
  const output = number(usage.output_tokens) ?? 0;
  const prompt = input + read + written;
  const out: Usage = { prompt_tokens: prompt, completion_tokens: output, total_tokens: prompt + output };
  keep(out, 'cached_tokens', read);
  keep(out, 'cache_write_tokens', written);
  keep(out, 'cache_write_1h_tokens', usage.cache_creation?.ephemeral_1h_input_tokens);
  return out;
}

/** Details are kept only when present and not zero, so plain text usage stays three fields. */
function keep(out: Usage, field: Detail, value: unknown): void {
  const count = number(value);
  if (count !== undefined && count > 0) out[field] = count;
}

function number(value: unknown): number | undefined {
  return typeof value === 'number' && Number.isFinite(value) ? value : undefined;
}
