/**
 * The usage a finished request is charged: what the upstream reported, or else an estimate from
 * the request and what was delivered (a stream cut short is charged for what arrived).
 */
import type { Exchange } from './exchange.js';
import { consumesTokens, type ApiKind } from './api-kind.js';
import { estimateUsage, type PromptSource } from './estimate.js';
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
  if (exchange?.usage) return { usage: exchange.usage, source: 'upstream' };
  if (!exchange || input.status === undefined || input.status >= 300 || !consumesTokens(input.method, input.api))
    return undefined;
  const delivered =
    exchange.text +
    exchange.toolCalls.map((call) => call.function.name + call.function.arguments).join('') +
    (exchange.functionCall ? exchange.functionCall.name + exchange.functionCall.arguments : '');
  return { usage: await estimateUsage(exchange.model ?? input.model, input.body, delivered), source: 'estimated' };
}
