/**
 * What an answer said, assembled as it passes: the assistant's text, tool calls (and legacy
 * function_call), finish reason and usage, from a JSON body or from SSE events one at a time.
 * Upstreams that repeat cumulative usage on every chunk are counted once: the last one wins.
 */
import { parseSseEvent } from '../util/sse.js';
import { normalizeUsage, type Usage } from './usage.js';

export interface ToolCall {
  id?: string;
  type?: string;
  function: { name: string; arguments: string };
}

export interface Exchange {
  text: string;
  toolCalls: ToolCall[];
  functionCall: { name: string; arguments: string } | undefined;
  finishReason: string | undefined;
  usage: Usage | undefined;
  /** The model the upstream says answered. */
  model: string | undefined;
  /** Error code of an error sent inside a 200 stream. */
  streamError: string | undefined;
  /** A `[DONE]` or a final event arrived. */
  complete: boolean;
  /** The answer's own id, creation time and fingerprint (for replaying it from the cache). */
  id: string | undefined;
  created: number | undefined;
  systemFingerprint: string | undefined;
  /** The upstream's usage object as sent. */
  rawUsage: Record<string, unknown> | undefined;
  /** A JSON answer's whole body. */
  json: Record<string, unknown> | undefined;
}

export function emptyExchange(): Exchange {
  return {
    text: '',
    toolCalls: [],
    functionCall: undefined,
    finishReason: undefined,
    usage: undefined,
    model: undefined,
    streamError: undefined,
    complete: false,
    id: undefined,
    created: undefined,
    systemFingerprint: undefined,
    rawUsage: undefined,
    json: undefined,
  };
}

/** Reads a whole JSON answer (chat, completions, embeddings, responses). */
export function exchangeFromJson(body: unknown): Exchange {
  const exchange = emptyExchange();
  exchange.complete = true;
  if (!body || typeof body !== 'object') return exchange;
  const answer = body as Record<string, any>;
  exchange.json = answer;
  exchange.usage = normalizeUsage(answer.usage);
  if (typeof answer.model === 'string') exchange.model = answer.model;
  if (typeof answer.id === 'string') exchange.id = answer.id;
  const choice = Array.isArray(answer.choices) ? answer.choices[0] : undefined;
  if (choice) {
    exchange.finishReason = choice.finish_reason ?? undefined;
    if (typeof choice.text === 'string') exchange.text = choice.text;
    const message = choice.message;
    if (message) {
      if (typeof message.content === 'string') exchange.text = message.content;
      if (Array.isArray(message.tool_calls)) exchange.toolCalls = message.tool_calls as ToolCall[];
      if (message.function_call) exchange.functionCall = message.function_call;
    }
  }
  if (Array.isArray(answer.output)) exchange.text = responsesText(answer.output);
  return exchange;
}

/** Observes one SSE event of a stream (chat, completions or responses). */
export function observeEvent(exchange: Exchange, raw: string): void {
  const { event, data } = parseSseEvent(raw);
  if (data === '[DONE]') {
    exchange.complete = true;
    return;
  }
  if (!data.startsWith('{')) return;
  let chunk: Record<string, any>;
  try {
    chunk = JSON.parse(data) as Record<string, any>;
  } catch {
    return;
  }
  if (event === 'error' || chunk.error || event === 'response.failed') {
    const error = chunk.error ?? chunk.response?.error ?? chunk;
    exchange.streamError =
      typeof error?.code === 'string' ? error.code : typeof error?.type === 'string' ? error.type : 'stream_error';
    return;
  }
  if (typeof chunk.type === 'string' && chunk.type.startsWith('response.')) {
    observeResponsesEvent(exchange, chunk);
    return;
  }
  if (typeof chunk.model === 'string') exchange.model = chunk.model;
  if (typeof chunk.id === 'string') exchange.id ??= chunk.id;
  if (typeof chunk.created === 'number') exchange.created ??= chunk.created;
  if (typeof chunk.system_fingerprint === 'string') exchange.systemFingerprint = chunk.system_fingerprint;
  const usage = normalizeUsage(chunk.usage);
  if (usage) {
    exchange.usage = usage;
    exchange.rawUsage = chunk.usage;
  }
  const choice = Array.isArray(chunk.choices) ? chunk.choices[0] : undefined;
  if (!choice) return;
  if (choice.finish_reason) exchange.finishReason = choice.finish_reason;
  if (typeof choice.text === 'string') exchange.text += choice.text;
  const delta = choice.delta;
  if (!delta) return;
  if (typeof delta.content === 'string') exchange.text += delta.content;
  if (Array.isArray(delta.tool_calls)) for (const call of delta.tool_calls) mergeToolCall(exchange, call);
  if (delta.function_call) {
    exchange.functionCall ??= { name: '', arguments: '' };
    if (delta.function_call.name) exchange.functionCall.name += delta.function_call.name;
    if (delta.function_call.arguments) exchange.functionCall.arguments += delta.function_call.arguments;
  }
}

function mergeToolCall(exchange: Exchange, delta: Record<string, any>): void {
  const index = typeof delta.index === 'number' ? delta.index : exchange.toolCalls.length;
  const call = (exchange.toolCalls[index] ??= { function: { name: '', arguments: '' } });
  if (delta.id) call.id = delta.id;
  if (delta.type) call.type = delta.type;
  if (delta.function?.name) call.function.name += delta.function.name;
  if (delta.function?.arguments) call.function.arguments += delta.function.arguments;
}

function observeResponsesEvent(exchange: Exchange, chunk: Record<string, any>): void {
  if (chunk.type === 'response.output_text.delta' && typeof chunk.delta === 'string') exchange.text += chunk.delta;
  if (chunk.type === 'response.completed' || chunk.type === 'response.incomplete') {
    exchange.complete = true;
    const response = chunk.response ?? {};
    exchange.usage = normalizeUsage(response.usage) ?? exchange.usage;
    if (typeof response.model === 'string') exchange.model = response.model;
    exchange.finishReason = response.status;
  }
}

function responsesText(output: unknown[]): string {
  let text = '';
  for (const item of output as Record<string, any>[]) {
    if (!Array.isArray(item?.content)) continue;
    for (const part of item.content)
      if (part?.type === 'output_text' && typeof part.text === 'string') text += part.text;
  }
  return text;
}
