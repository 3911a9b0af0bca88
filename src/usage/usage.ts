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
  | 'reasoning_tokens';

/** Details are kept only when present and not zero, so plain text usage stays three fields. */
function keep(out: Usage, field: Detail, value: unknown): void {
  const count = number(value);
  if (count !== undefined && count > 0) out[field] = count;
}

function number(value: unknown): number | undefined {
  return typeof value === 'number' && Number.isFinite(value) ? value : undefined;
}
