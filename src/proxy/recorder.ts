/**
 * The records of a request, once its answer is complete: the usage it is charged, and the lines of
 * the access log (and chat log) with what listens to them (the SQL sink, metrics). Run by the
 * finishers (finishers.ts).
 */
import type { HubConfig } from '../config/schema.js';
import type { AccessRecord, SessionRecord } from '../logs/access-record.js';
import type { SessionTally } from '../realtime/session-tally.js';
import type { Usage, UsageSource } from '../usage/usage.js';
import type { ChatRecord } from '../logs/chat-record.js';
import type { Diagnostics } from '../logs/diagnostics.js';
import { createJsonLinesFile, type JsonLinesFile } from '../logs/json-lines-file.js';
import { accountUsage } from '../usage/account.js';
import type { RequestContext } from './context.js';

type RecordListener = (record: AccessRecord) => void;

/** Where the records go: the log files here, or (a worker of `--workers`) the primary, which writes them. */
export interface RecordOutlet {
  /** Whether access records are kept there (a log file, or a primary that always takes them). */
  readonly keepsAccess: boolean;
  readonly keepsChat: boolean;
  access(record: AccessRecord): void;
  chat(record: ChatRecord): void;
  readonly failures: number;
  close(): Promise<void>;
}

export interface Recorder {
  /** Whether anything keeps records (a log file, a listener). */
  readonly keepsRecords: boolean;
  /** Sets the usage the request is charged: as the upstream reported it, else estimated. */
  settleUsage(ctx: RequestContext): Promise<void>;
  /** Writes the request's access record (accessRecordOf) and chat record where they are kept. */
  write(ctx: RequestContext, record: AccessRecord): void;
  /** Called with every access record (the SQL sink, metrics). */
  onRecord(listener: RecordListener): void;
  readonly failures: number;
  close(): Promise<void>;
}

const NOT_PARAMS = new Set([
  'messages',
  'prompt',
  'tools',
  'functions',
  'model',
  'stream',
  'stream_options',
  'caching',
  'user',
]);

/** The access and chat logs of `logs.dir`, as `logs.access` and `logs.chat` ask. */
export function logFilesOutlet(config: HubConfig, log: Diagnostics): RecordOutlet {
  const access: JsonLinesFile | undefined = config.logs.access
    ? createJsonLinesFile({ dir: config.logs.dir, filename: 'access-%DATE%.log', log })
    : undefined;
  const chat: JsonLinesFile | undefined = config.logs.chat
    ? createJsonLinesFile({ dir: config.logs.dir, filename: 'chat-%DATE%.log', log })
    : undefined;
  return {
    keepsAccess: access !== undefined,
    keepsChat: chat !== undefined,
    access: (record) => access?.write(JSON.stringify(record)),
    chat: (record) => chat?.write(JSON.stringify(record)),
    get failures() {
      return (access?.failures ?? 0) + (chat?.failures ?? 0);
    },
    close: async () => {
      await Promise.all([access?.close(), chat?.close()]);
    },
  };
}

export function createRecorder(config: HubConfig, log: Diagnostics, outlet = logFilesOutlet(config, log)): Recorder {
  const listeners: RecordListener[] = [];

  function write(ctx: RequestContext, record: AccessRecord): void {
    if (outlet.keepsAccess) outlet.access(record);
    for (const listener of listeners) listener(record);
    if (!outlet.keepsChat) return;
    if (isChat(ctx)) outlet.chat(chatRecordOf(ctx));
    else if (ctx.session && ctx.session.turns.length > 0) outlet.chat(sessionChatRecordOf(ctx));
  }

  return {
    get keepsRecords() {
      return outlet.keepsAccess || outlet.keepsChat || listeners.length > 0;
    },
    settleUsage,
    write,
    onRecord: (listener) => void listeners.push(listener),
    get failures() {
      return outlet.failures;
    },
    close: () => outlet.close(),
  };
}

async function settleUsage(ctx: RequestContext): Promise<void> {
  const accounted = ctx.session
    ? sessionUsage(ctx)
    : await accountUsage({
        method: ctx.req.method ?? 'GET',
        api: ctx.api,
        status: ctx.outcome.status,
        model: servedModel(ctx),
        body: ctx.info.json,
        exchange: ctx.exchange,
      });
  if (!accounted) return;
  ctx.usage = accounted.usage;
  ctx.usageSource = accounted.source;
  const hash = ctx.outcome.keyHash;
  if (hash) ctx.upstream?.pool.addTokens(hash, accounted.usage.prompt_tokens, accounted.usage.completion_tokens);
}

/** A session is charged what its `response.done` events reported, nothing estimated. */
function sessionUsage(ctx: RequestContext): { usage: Usage; source: UsageSource } | undefined {
  const usage = ctx.session!.usage;
  return usage ? { usage, source: 'upstream' } : undefined;
}

export function accessRecordOf(ctx: RequestContext): AccessRecord {
  const url = ctx.req.url ?? '/';
  const route = ctx.route;
  return {
    ts: new Date(Date.now() - (performance.now() - ctx.startedAt)).toISOString(),
    id: ctx.id,
    user: ctx.identity?.user ?? null,
    ip: ctx.clientIp,
    method: ctx.req.method ?? 'GET',
    route: ctx.upstream?.config.route ?? null,
    path: route?.pathname ?? url.split('?', 1)[0]!,
    model: servedModel(ctx) ?? null,
    alias: ctx.alias ?? null,
    stream: ctx.info.stream,
    status: ctx.outcome.status ?? null,
    upstream: ctx.upstream?.config.name ?? null,
    key: ctx.outcome.keyHash ?? null,
    attempts: ctx.outcome.attempts,
    cache: ctx.cacheStatus ?? null,
    ttfbMs: ctx.outcome.ttfbMs === undefined ? null : round(ctx.outcome.ttfbMs),
    overheadMs:
      ctx.outcome.ttfbMs === undefined
        ? null
        : round(Math.max(0, ctx.outcome.ttfbMs - ctx.outcome.upstreamMs - ctx.outcome.queueMs)),
    queueMs: round(ctx.outcome.queueMs),
    durationMs: round(performance.now() - ctx.startedAt),
    usage: ctx.usage ?? null,
    usageSource: ctx.usageSource ?? null,
    error: ctx.outcome.error ?? null,
    ...(ctx.session ? { session: sessionRecordOf(ctx.session) } : {}),
  };
}

function sessionRecordOf(tally: SessionTally): SessionRecord {
  return {
    responses: tally.responses,
    framesIn: tally.framesIn,
    framesOut: tally.framesOut,
    bytesIn: tally.bytesIn,
    bytesOut: tally.bytesOut,
    closeCode: tally.closeCode ?? null,
    closeReason: tally.closeReason ?? null,
    closedBy: tally.closedBy ?? null,
  };
}

/** The model that answered: as the answer says, else as asked of the upstream (not the alias). */
export function servedModel(ctx: RequestContext): string | undefined {
  return ctx.exchange?.model ?? ctx.session?.model ?? ctx.target?.model ?? ctx.info.model;
}

function isChat(ctx: RequestContext): boolean {
  return (
    ctx.req.method === 'POST' &&
    ctx.info.json !== undefined &&
    (ctx.api === 'chat' || ctx.api === 'completions' || ctx.api === 'messages')
  );
}

function chatRecordOf(ctx: RequestContext): ChatRecord {
  const body = ctx.info.json!.object;
  const exchange = ctx.exchange;
  const params: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(body)) if (!NOT_PARAMS.has(name)) params[name] = value;
  const messages = Array.isArray(body.messages)
    ? body.messages
    : body.prompt !== undefined
      ? [{ role: 'user', content: body.prompt }]
      : [];
  return {
    ...chatRecordHead(ctx),
    params,
    messages,
    tools: Array.isArray(body.tools) ? body.tools : null,
    functions: Array.isArray(body.functions) ? body.functions : null,
    assistant: exchange?.text ?? '',
    tool_calls: exchange && exchange.toolCalls.length > 0 ? exchange.toolCalls : null,
    function_call: exchange?.functionCall ?? null,
    finish_reason: exchange?.finishReason ?? null,
    usage: ctx.usage ?? null,
    aborted: !exchange?.complete || ctx.outcome.error !== undefined,
    cache: ctx.cacheStatus === 'hit' ? 'hit' : null,
    error: ctx.outcome.error ?? null,
  };
}

/** Who and what a chat-log line is about. */
function chatRecordHead(ctx: RequestContext): Pick<ChatRecord, 'ts' | 'id' | 'user' | 'ip' | 'model'> {
  return {
    ts: new Date().toISOString(),
    id: ctx.id,
    user: ctx.identity?.user ?? null,
    ip: ctx.clientIp,
    model: servedModel(ctx) ?? null,
  };
}

/** A session's chat-log line: its text and transcript turns in order; `assistant` is the last answer. */
function sessionChatRecordOf(ctx: RequestContext): ChatRecord {
  const turns = ctx.session!.turns;
  const last = turns.findLast((turn) => turn.role === 'assistant');
  return {
    ...chatRecordHead(ctx),
    params: ctx.session!.turnsCut ? { realtime: true, turnsCut: true } : { realtime: true },
    messages: turns,
    tools: null,
    functions: null,
    assistant: last?.content ?? '',
    tool_calls: null,
    function_call: null,
    finish_reason: null,
    usage: ctx.usage ?? null,
    aborted: ctx.session!.closedBy !== 'client' && ctx.session!.closedBy !== 'upstream',
    cache: null,
    error: ctx.outcome.error ?? null,
  };
}

function round(ms: number): number {
  return Math.round(ms * 10) / 10;
}
