/**
 * The usage a finished request is charged: what the upstream reported, or else an estimate from
 * the request and what was delivered (a stream cut short is charged for what arrived).
 */
import type { Exchange } from './exchange.js';
import { consumesTokens, type ApiKind } from './api-kind.js';
import { completionTokens, estimateUsage, type PromptSource } from './estimate.js';
import type { Usage, UsageSource } from './usage.js';

export interface Accounted {
  usage: Usage;
  source: UsageSource;
}

export async function accountUsage(input: {
  method: string;
  api: ApiKind;
  status: number | undefined;
  model: string | undefined;
  body: PromptSource | undefined;
  exchange: Exchange | undefined;
}): Promise<Accounted | undefined> {
  const { exchange } = input;
  if (exchange?.usage && !exchange.usagePartial) return { usage: exchange.usage, source: 'upstream' };
  if (exchange?.usage) return partialUsage(exchange.usage, exchange, input.model);
  if (!exchange || input.status === undefined || input.status >= 300 || !consumesTokens(input.method, input.api))
    return undefined;
  return {
    usage: await estimateUsage(exchange.model ?? input.model, input.body, deliveredText(exchange)),
    source: 'estimated',
  };
}

function deliveredText(exchange: Exchange): string {
  return (
    exchange.text +
    exchange.toolCalls.map((call) => call.function.name + call.function.arguments).join('') +
    (exchange.functionCall ? exchange.functionCall.name + exchange.functionCall.arguments : '')
  );
}

/**
 * A stream cut before its final count (Anthropic's `message_delta`): the prompt as the upstream
 * reported it, the output counted from what was delivered.
 */
async function partialUsage(reported: Usage, exchange: Exchange, model: string | undefined): Promise<Accounted> {
  const counted = await completionTokens(exchange.model ?? model, deliveredText(exchange));
  const completion = Math.max(reported.completion_tokens, counted);
  return {
    usage: { ...reported, completion_tokens: completion, total_tokens: reported.prompt_tokens + completion },
    source: 'estimated',
  };
}
