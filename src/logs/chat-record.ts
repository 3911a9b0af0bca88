import type { ToolCall } from '../usage/exchange.js';
import type { Usage } from '../usage/usage.js';

/** One line of the chat log: a finished (or aborted) exchange with what the assistant said. */
export interface ChatRecord {
  ts: string;
  id: string;
  user: string | null;
  ip: string;
  model: string | null;
  /** Request parameters other than messages and tools (temperature, top_p, max_tokens, …). */
  params: Record<string, unknown>;
  messages: unknown[];
  tools: unknown[] | null;
  functions: unknown[] | null;
  assistant: string;
  tool_calls: ToolCall[] | null;
  function_call: { name: string; arguments: string } | null;
  finish_reason: string | null;
  usage: Usage | null;
  /** The answer did not complete (client or upstream went away, or an error arrived). */
  aborted: boolean;
  /** `hit` when the reply was replayed from the response cache. */
  cache: 'hit' | null;
  error: string | null;
}
