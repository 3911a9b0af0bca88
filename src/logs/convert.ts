/**
 * Chat log (JSON lines, rotated, possibly gzipped) → one JSON array, in the shape openai-forward's
 * `convert` users read: messages as `{"<role>": "<content>"}` pairs. Streams both ways, so a large
 * log converts in bounded memory; a corrupt or truncated line is skipped and counted.
 *
 * openai-forward's own `chat.log` reads too: Python-literal lines, a request (`messages`, `model`,
 * `datetime`, `uid`, …) and later its answer (`assistant`, `uid`), paired by `uid`.
 */
import { createWriteStream } from 'node:fs';
import { readdir, stat } from 'node:fs/promises';
import { once } from 'node:events';
import path from 'node:path';
import type { Writable } from 'node:stream';
import { globMatch } from '../util/glob.js';
import type { ChatRecord } from './chat-record.js';
import { parsePythonLiteral } from './python-literal.js';
import { eachLogLine } from './log-file-lines.js';

export interface ConvertOptions {
  /** A chat log file, or a directory of them (chat-*.log, chat-*.log.gz). */
  input: string;
  /** Output file; '-' for stdout. */
  output: string;
  since?: Date;
  until?: Date;
  user?: string;
  /** A model name or glob. */
  model?: string;
  /** Keep whole messages, every tool call and all parameters. */
  full?: boolean;
}

export interface ConvertResult {
  files: number;
  written: number;
  skipped: number;
  filtered: number;
}

interface ConvertedExchange {
  datetime: string;
  ip: string;
  user: string | null;
  model: string | null;
  temperature: number | null;
  messages: Record<string, string>[];
  functions: unknown[] | null;
  is_function_call: boolean;
  assistant: string;
  usage: ChatRecord['usage'];
}

export async function convertChatLog(options: ConvertOptions): Promise<ConvertResult> {
  const files = await chatLogFiles(options.input);
  const out: Writable = options.output === '-' ? process.stdout : createWriteStream(options.output);
  const result: ConvertResult = { files: files.length, written: 0, skipped: 0, filtered: 0 };
  const pairs = new OpenaiForwardPairs();
  const emit = async (record: ChatRecord | undefined) => {
    if (!record) {
      result.skipped++;
      return;
    }
    if (!matches(record, options)) {
      result.filtered++;
      return;
    }
    await write(
      out,
      (result.written === 0 ? '\n' : ',\n') + JSON.stringify(options.full ? record : toConverted(record)),
    );
    result.written++;
  };
  await write(out, '[');
  for (const file of files) {
    const whole = await eachLogLine(file, async (line) => {
      const record = parseRecord(line);
      if (record) return emit(record);
      const step = pairs.take(line);
      if (step === 'corrupt') result.skipped++;
      else if (step !== 'waiting') await emit(step);
    });
    if (!whole) result.skipped++;
  }
  // requests whose answer never came (the service stopped mid-answer) are written as they are
  for (const record of pairs.unanswered()) await emit(record);
  result.skipped += pairs.dropped;
  await write(out, result.written === 0 ? ']\n' : '\n]\n');
  if (out !== process.stdout) {
    out.end();
    await once(out, 'finish');
  }
  return result;
}

async function chatLogFiles(input: string): Promise<string[]> {
  const info = await stat(input);
  if (info.isFile()) return [input];
  // aifd's chat-DATE.log, and openai-forward's chat.log with its rotated chat.log.DATE
  const names = (await readdir(input)).filter((name) => /^chat(-.*)?\.log(\.[\w.-]+)?(\.gz)?$/.test(name)).sort();
  return names.map((name) => path.join(input, name));
}

function parseRecord(line: string): ChatRecord | undefined {
  try {
    const record = JSON.parse(line) as ChatRecord;
    if (!record || typeof record !== 'object' || typeof record.ts !== 'string' || !Array.isArray(record.messages))
      return undefined;
    return record;
  } catch {
    return undefined;
  }
}

/** Requests kept while their answers are awaited; past this many, the oldest are dropped and counted. */
const MAX_UNANSWERED = 10_000;

/** openai-forward's request and answer lines, paired by `uid`, as the chat records aifd writes. */
class OpenaiForwardPairs {
  private readonly waiting = new Map<string, Record<string, unknown>>();
  dropped = 0;

  take(line: string): ChatRecord | 'waiting' | 'corrupt' {
    let entry: unknown;
    try {
      entry = parsePythonLiteral(line);
    } catch {
      return 'corrupt';
    }
    if (!entry || typeof entry !== 'object' || Array.isArray(entry)) return 'corrupt';
    const fields = entry as Record<string, unknown>;
    const uid = typeof fields.uid === 'string' ? fields.uid : undefined;
    if (Array.isArray(fields.messages)) {
      if ('assistant' in fields || uid === undefined) return openaiForwardRecord(fields, fields);
      this.waiting.set(uid, fields);
      if (this.waiting.size > MAX_UNANSWERED) {
        this.waiting.delete(this.waiting.keys().next().value!);
        this.dropped++;
      }
      return 'waiting';
    }
    if ('assistant' in fields && uid !== undefined) {
      const request = this.waiting.get(uid);
      if (!request) return 'corrupt';
      this.waiting.delete(uid);
      return openaiForwardRecord(request, fields);
    }
    return 'corrupt';
  }

  unanswered(): ChatRecord[] {
    const records = [...this.waiting.values()].map((request) => openaiForwardRecord(request, undefined));
    this.waiting.clear();
    return records;
  }
}

/** openai-forward writes messages as `{"<role>": "<content>"}` already; they are kept so. */
function openaiForwardRecord(
  request: Record<string, unknown>,
  answer: Record<string, unknown> | undefined,
): ChatRecord {
  const text = (value: unknown) =>
    typeof value === 'string' ? value : value === undefined || value === null ? '' : JSON.stringify(value);
  const messages = (request.messages as unknown[]).map((message) =>
    message && typeof message === 'object' && !('role' in message)
      ? Object.fromEntries(Object.entries(message).map(([role, content]) => [role, text(content)]))
      : message,
  );
  const { messages: _messages, uid, datetime, model, ip, assistant: _assistant, tools, functions, ...params } = request;
  const datetimeText = typeof datetime === 'string' ? datetime : '';
  const parsed = Date.parse(datetimeText.replace(' ', 'T'));
  return {
    ts: Number.isNaN(parsed) ? datetimeText : new Date(parsed).toISOString(),
    id: typeof uid === 'string' ? uid : '',
    user: null,
    ip: text(ip ?? request['forwarded-for']),
    model: typeof model === 'string' ? model : null,
    params: Object.fromEntries(
      Object.entries(params).filter(
        ([name]) => name !== 'forwarded-for' && name !== 'is_tool_calls' && name !== 'is_function_call',
      ),
    ),
    messages,
    tools: Array.isArray(tools) ? tools : null,
    functions: Array.isArray(functions) ? functions : null,
    assistant: text(answer?.assistant),
    tool_calls: null,
    function_call: null,
    finish_reason: null,
    usage: null,
    aborted: answer === undefined,
    cache: null,
    error: null,
  };
}

function matches(record: ChatRecord, options: ConvertOptions): boolean {
  const ts = Date.parse(record.ts);
  if (options.since && !(ts >= options.since.getTime())) return false;
  if (options.until && !(ts < options.until.getTime())) return false;
  if (options.user !== undefined && record.user !== options.user) return false;
  if (options.model !== undefined && !(record.model && globMatch(options.model, record.model))) return false;
  return true;
}

function toConverted(record: ChatRecord): ConvertedExchange {
  const temperature = record.params?.temperature;
  return {
    datetime: record.ts,
    ip: record.ip,
    user: record.user,
    model: record.model,
    temperature: typeof temperature === 'number' ? temperature : null,
    messages: record.messages.map(toRolePair),
    functions: record.tools ?? record.functions ?? null,
    is_function_call: Boolean(record.tool_calls?.length || record.function_call),
    assistant: record.assistant !== '' ? record.assistant : functionCallText(record),
    usage: record.usage,
  };
}

function toRolePair(message: unknown): Record<string, string> {
  if (message && typeof message === 'object' && !('role' in message)) return message as Record<string, string>;
  const { role, content } = (message ?? {}) as { role?: unknown; content?: unknown };
  return { [typeof role === 'string' ? role : 'unknown']: contentText(content) };
}

function contentText(content: unknown): string {
  if (typeof content === 'string') return content;
  if (Array.isArray(content)) {
    return content
      .map((part) =>
        part && typeof part === 'object' && typeof (part as { text?: unknown }).text === 'string'
          ? (part as { text: string }).text
          : '',
      )
      .join('');
  }
  return content === null || content === undefined ? '' : JSON.stringify(content);
}

function functionCallText(record: ChatRecord): string {
  if (record.tool_calls?.length) return JSON.stringify(record.tool_calls.map((call) => call.function));
  if (record.function_call) return JSON.stringify(record.function_call);
  return '';
}

async function write(out: Writable, text: string): Promise<void> {
  if (!out.write(text)) await once(out, 'drain');
}
