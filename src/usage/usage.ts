/** Token usage in the Chat Completions shape, whatever API it came from. */
export interface Usage {
  prompt_tokens: number;
  completion_tokens: number;
  total_tokens: number;
  /** Prompt tokens served from OpenAI's prompt cache (`prompt_tokens_details.cached_tokens`). */
  cached_tokens?: number;
}

export type UsageSource = 'upstream' | 'estimated';

/**
 * Reads a `usage` object from any OpenAI API: chat and completions (prompt/completion tokens),
 * embeddings (prompt tokens only), responses and images (input/output tokens).
 */
export function normalizeUsage(raw: unknown): Usage | undefined {
  if (!raw || typeof raw !== 'object') return undefined;
  const usage = raw as Record<string, any>;
  const prompt = number(usage.prompt_tokens) ?? number(usage.input_tokens);
  const completion = number(usage.completion_tokens) ?? number(usage.output_tokens) ?? 0;
  if (prompt === undefined) return undefined;
  const total = number(usage.total_tokens) ?? prompt + completion;
  const out: Usage = { prompt_tokens: prompt, completion_tokens: completion, total_tokens: total };
  const cached = number(usage.prompt_tokens_details?.cached_tokens) ?? number(usage.input_tokens_details?.cached_tokens);
  if (cached !== undefined && cached > 0) out.cached_tokens = cached;
  return out;
}

function number(value: unknown): number | undefined {
  return typeof value === 'number' && Number.isFinite(value) ? value : undefined;
}
