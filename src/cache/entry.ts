/**
 * What the cache keeps of an answer, and how it is served again: as JSON, or for chat completions
 * as SSE in OpenAI's chunk shape (a usage chunk only when the client asked for one), whichever
 * kind filled the entry.
 */
import type { ApiKind } from '../usage/api-kind.js';
import type { Exchange } from '../usage/exchange.js';
import type { Usage } from '../usage/usage.js';

export interface CacheEntry {
  /** The answer as a JSON body (a chat.completion, an embedding list, a text completion). */
  body: Record<string, unknown>;
  usage: Usage | undefined;
  storedAt: number;
  expiresAt: number;
}

/** The answer an exchange describes, if it may be stored: complete, not truncated, not an error. */
export function storableBody(api: ApiKind, exchange: Exchange): Record<string, unknown> | undefined {
  // A cut answer is not stored: OpenAI's finish_reason `length`, Anthropic's stop_reason `max_tokens`.
  const cut = exchange.finishReason === 'length' || exchange.finishReason === 'max_tokens';
  if (!exchange.complete || exchange.streamError !== undefined || cut) return undefined;
  if (exchange.json) return exchange.json;
  if (api !== 'chat' || exchange.id === undefined) return undefined;
  const message: Record<string, unknown> = {
    role: 'assistant',
    content: exchange.toolCalls.length > 0 && exchange.text === '' ? null : exchange.text,
    refusal: null,
  };
  if (exchange.toolCalls.length > 0)
    message.tool_calls = exchange.toolCalls.map((call) => ({
      id: call.id,
      type: call.type ?? 'function',
      function: call.function,
    }));
  if (exchange.functionCall) message.function_call = exchange.functionCall;
  const body: Record<string, unknown> = {
    id: exchange.id,
    object: 'chat.completion',
    created: exchange.created,
    model: exchange.model,
    choices: [{ index: 0, message, logprobs: null, finish_reason: exchange.finishReason ?? 'stop' }],
  };
  if (exchange.rawUsage) body.usage = exchange.rawUsage;
  if (exchange.systemFingerprint) body.system_fingerprint = exchange.systemFingerprint;
  return body;
}

/** A chat.completion body as the SSE events a stream of it would have had. */
export function chatCompletionEvents(body: Record<string, any>, includeUsage: boolean): string[] {
  const choice = body.choices?.[0] ?? {};
  const message = choice.message ?? {};
  const head = {
    id: body.id,
    object: 'chat.completion.chunk',
    created: body.created,
    model: body.model,
    ...(body.system_fingerprint ? { system_fingerprint: body.system_fingerprint } : {}),
  };
  const usageField = includeUsage ? { usage: null } : {};
  const event = (choices: unknown[], extra: Record<string, unknown> = usageField) =>
    `data: ${JSON.stringify({ ...head, choices, ...extra })}\n\n`;
  const events = [
    event([
      { index: 0, delta: { role: 'assistant', content: '', refusal: null }, logprobs: null, finish_reason: null },
    ]),
  ];
  const text = typeof message.content === 'string' ? message.content : '';
  for (const piece of text.match(/[\s\S]{1,64}/g) ?? []) {
    events.push(event([{ index: 0, delta: { content: piece }, logprobs: null, finish_reason: null }]));
  }
  (message.tool_calls ?? []).forEach((call: Record<string, any>, index: number) => {
    events.push(
      event([
        {
          index: 0,
          delta: {
            tool_calls: [
              {
                index,
                id: call.id,
                type: call.type ?? 'function',
                function: { name: call.function?.name, arguments: call.function?.arguments ?? '' },
              },
            ],
          },
          logprobs: null,
          finish_reason: null,
        },
      ]),
    );
  });
  if (message.function_call)
    events.push(
      event([{ index: 0, delta: { function_call: message.function_call }, logprobs: null, finish_reason: null }]),
    );
  events.push(event([{ index: 0, delta: {}, logprobs: null, finish_reason: choice.finish_reason ?? 'stop' }]));
  if (includeUsage && body.usage) events.push(event([], { usage: body.usage }));
  events.push('data: [DONE]\n\n');
  return events;
}
