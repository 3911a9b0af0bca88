/**
 * What an answer said, assembled as it passes: the assistant's text, tool calls (and legacy
 * function_call), finish reason and usage, from a JSON body or from SSE events one at a time, of
 * OpenAI's APIs and of Anthropic's Messages API. Upstreams that repeat cumulative usage on every
 * chunk are counted once: the last one wins.
 */
import { parseSseEvent } from '../util/sse.js';
import { normalizeAnthropicUsage, normalizeUsage, type Usage } from './usage.js';

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
  /**
   * The usage so far is not the final count: an Anthropic stream reports its output tokens in
   * `message_delta`, after `message_start` said only what the prompt was.
   */
  usagePartial: boolean;
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
    usagePartial: false,
  };
}

/** Reads a whole JSON answer (chat, completions, embeddings, responses). */
export function exchangeFromJson(body: unknown): Exchange {
  const exchange = emptyExchange();
  exchange.complete = true;
  if (!body || typeof body !== 'object') return exchange;
  const answer = body as Record<string, any>;
  exchange.json = answer;
  if (answer.type === 'message' && Array.isArray(answer.content)) {
    anthropicMessage(exchange, answer);
    return exchange;
  }
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
  if (typeof chunk.type === 'string' && ANTHROPIC_EVENTS.has(chunk.type)) {
    observeAnthropicEvent(exchange, chunk);
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

/** The event types of an Anthropic Messages stream (an `error` event is read as any stream's error). */
const ANTHROPIC_EVENTS = new Set([
  'message_start',
  'content_block_start',
  'content_block_delta',
  'content_block_stop',
  'message_delta',
  'message_stop',
  'ping',
]);

/** Each stream's tool calls by content block index (text blocks have indexes too). */
const blockCalls = new WeakMap<Exchange, Map<number, ToolCall>>();

/** An Anthropic Messages answer read whole: text blocks, tool_use blocks, stop reason, usage. */
function anthropicMessage(exchange: Exchange, message: Record<string, any>): void {
  if (typeof message.model === 'string') exchange.model = message.model;
  if (typeof message.id === 'string') exchange.id = message.id;
  exchange.finishReason = message.stop_reason ?? undefined;
  for (const block of message.content as Record<string, any>[]) {
    if (block?.type === 'text' && typeof block.text === 'string') exchange.text += block.text;
    if (block?.type === 'tool_use')
      exchange.toolCalls.push({
        id: block.id,
        type: 'function',
        function: { name: String(block.name ?? ''), arguments: JSON.stringify(block.input ?? {}) },
      });
  }
  exchange.usage = normalizeAnthropicUsage(message.usage);
  exchange.rawUsage = message.usage;
}

/**
 * One event of an Anthropic Messages stream: `message_start` names the model and the prompt's
 * usage, deltas carry text and tool input, `message_delta` the stop reason and the final output
 * count (cumulative), `message_stop` ends it.
 */
function observeAnthropicEvent(exchange: Exchange, event: Record<string, any>): void {
  switch (event.type) {
    case 'message_start': {
      const message = event.message ?? {};
      if (typeof message.model === 'string') exchange.model = message.model;
      if (typeof message.id === 'string') exchange.id ??= message.id;
      mergeAnthropicUsage(exchange, message.usage, true);
      return;
    }
    case 'content_block_start': {
      const block = event.content_block;
      if (block?.type === 'text' && typeof block.text === 'string') exchange.text += block.text;
      if (block?.type !== 'tool_use') return;
      const call: ToolCall = {
        id: block.id,
        type: 'function',
        function: { name: String(block.name ?? ''), arguments: '' },
      };
      exchange.toolCalls.push(call);
      let calls = blockCalls.get(exchange);
      if (!calls) blockCalls.set(exchange, (calls = new Map()));
      calls.set(event.index, call);
      return;
    }
    case 'content_block_delta': {
      const delta = event.delta ?? {};
      if (delta.type === 'text_delta' && typeof delta.text === 'string') exchange.text += delta.text;
      else if (delta.type === 'input_json_delta' && typeof delta.partial_json === 'string') {
        const call = blockCalls.get(exchange)?.get(event.index);
        if (call) call.function.arguments += delta.partial_json;
      }
      return;
    }
    case 'message_delta':
      if (event.delta?.stop_reason) exchange.finishReason = event.delta.stop_reason;
      mergeAnthropicUsage(exchange, event.usage, false);
      return;
    case 'message_stop':
      exchange.complete = true;
      return;
  }
}

/** Usage fields as they come (message_delta's counts are cumulative: they replace, never add). */
function mergeAnthropicUsage(exchange: Exchange, usage: unknown, partial: boolean): void {
  if (!usage || typeof usage !== 'object') return;
  const merged = { ...(exchange.rawUsage ?? {}), ...(usage as Record<string, unknown>) };
  const normalized = normalizeAnthropicUsage(merged);
  if (!normalized) return;
  exchange.rawUsage = merged;
  exchange.usage = normalized;
  exchange.usagePartial = partial;
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
