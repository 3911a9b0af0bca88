/**
 * What aifd reads of a Realtime session's server events: usage from `response.done`, the model from
 * `session.created`/`session.updated`, and the conversation's text for the chat log. Event names
 * and the usage shape as OpenAI documents them (Realtime server events; the documented usage object
 * is quoted in github.com/openai/openai-agents-js/issues/538, and Microsoft's reference of the same
 * events, learn.microsoft.com …/realtimeservereventresponsedone, both read 2026-12-04):
 * `response.done` carries `response.usage` with `input_token_details` (text, audio, image and
 * cached tokens, and `cached_tokens_details`) and `output_token_details` (text, audio). The beta
 * and GA names of the same events are both read.
 */
import { normalizeUsage, type Usage } from '../usage/usage.js';
import type { WantsMessage } from './frames.js';

const READ_TYPES = new Set([
  'session.created',
  'session.updated',
  'response.done',
  'conversation.item.created',
  'conversation.item.added',
  'conversation.item.done',
  'conversation.item.input_audio_transcription.completed',
  'error',
]);

const TYPE_FIRST = /^\s*\{\s*"type"\s*:\s*"([^"\\]{1,100})"/;

/**
 * Whether a server message is one aifd reads, from its first bytes. OpenAI writes `type` first;
 * a message that does not is read whole to be sure (it is rare, and held only up to the cap).
 */
export const wantsServerEvent: WantsMessage = (prefix) => {
  const type = TYPE_FIRST.exec(prefix.toString('latin1'))?.[1];
  return type === undefined || READ_TYPES.has(type);
};

export interface Turn {
  role: 'user' | 'assistant';
  content: string;
}

export type ServerEventFacts =
  | { kind: 'response'; usage: Usage | undefined; turns: Turn[]; status: string | undefined }
  | { kind: 'session'; model: string | undefined }
  | { kind: 'turn'; turn: Turn }
  | { kind: 'error'; code: string | undefined }
  | { kind: 'other' };

/** Reads one whole server event; undefined when it is not JSON. */
export function readServerEvent(payload: Buffer): ServerEventFacts | undefined {
  let event: Record<string, any>;
  try {
    event = JSON.parse(payload.toString('utf8'));
  } catch {
    return undefined;
  }
  if (!event || typeof event !== 'object') return undefined;
  switch (event.type) {
    case 'response.done': {
      const response = event.response ?? {};
      const output: unknown[] = Array.isArray(response.output) ? response.output : [];
      const turns = output.flatMap((item) => turnOf(item, 'assistant'));
      return { kind: 'response', usage: normalizeUsage(response.usage), turns, status: response.status };
    }
    case 'session.created':
    case 'session.updated':
      return { kind: 'session', model: typeof event.session?.model === 'string' ? event.session.model : undefined };
    case 'conversation.item.input_audio_transcription.completed':
      return typeof event.transcript === 'string'
        ? { kind: 'turn', turn: { role: 'user', content: event.transcript } }
        : { kind: 'other' };
    case 'conversation.item.created':
    case 'conversation.item.added':
    case 'conversation.item.done': {
      if (event.item?.role !== 'user') return { kind: 'other' };
      const [turn] = turnOf(event.item, 'user');
      return turn ? { kind: 'turn', turn } : { kind: 'other' };
    }
    case 'error':
      return { kind: 'error', code: typeof event.error?.code === 'string' ? event.error.code : event.error?.type };
    default:
      return { kind: 'other' };
  }
}

/** The text of a message item: its text parts, or the transcripts of its audio parts. */
function turnOf(item: unknown, role: Turn['role']): Turn[] {
  const message = item as { type?: unknown; content?: unknown };
  if (message?.type !== 'message' || !Array.isArray(message.content)) return [];
  const texts = message.content
    .map((part: { text?: unknown; transcript?: unknown }) =>
      typeof part?.text === 'string' ? part.text : typeof part?.transcript === 'string' ? part.transcript : '',
    )
    .filter((text: string) => text.length > 0);
  return texts.length > 0 ? [{ role, content: texts.join('') }] : [];
}

/** Adds one response's usage to a session's total. */
export function addUsage(total: Usage | undefined, more: Usage): Usage {
  if (!total) return { ...more };
  const sum: Usage = {
    prompt_tokens: total.prompt_tokens + more.prompt_tokens,
    completion_tokens: total.completion_tokens + more.completion_tokens,
    total_tokens: total.total_tokens + more.total_tokens,
  };
  for (const field of DETAILS) {
    const value = (total[field] ?? 0) + (more[field] ?? 0);
    if (value > 0) sum[field] = value;
  }
  return sum;
}

const DETAILS = [
  'cached_tokens',
  'cached_audio_tokens',
  'audio_prompt_tokens',
  'image_prompt_tokens',
  'audio_completion_tokens',
  'reasoning_tokens',
] as const;
