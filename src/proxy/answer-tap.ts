/**
 * Watches an answer on its way to the client, so usage and the assistant's reply are known
 * without holding the answer back: SSE events are read as they complete, a JSON body is kept
 * (bounded) and read at the end. When aifd added `stream_options.include_usage` itself, the
 * tap also takes back what that changed — the `"usage":null` on every chunk and the usage-only
 * chunk — so the client gets exactly what it would have got without aifd.
 */
import { emptyExchange, exchangeFromJson, observeEvent, type Exchange } from '../usage/exchange.js';
import { SseEventSplitter } from '../util/sse.js';

/** Largest JSON answer read for usage; bigger answers pass through unread. */
const MAX_JSON_ANSWER = 8 * 1024 * 1024;

export class AnswerTap {
  readonly exchange: Exchange = emptyExchange();
  private readonly splitter: SseEventSplitter | undefined;
  private readonly jsonChunks: Buffer[] | undefined;
  private jsonSize = 0;
  private readonly modelMember: string | undefined;

  constructor(
    kind: 'sse' | 'json' | 'none',
    /** Rewrite the stream to undo an include_usage that aifd injected. */
    readonly stripInjectedUsage: boolean,
    /** Hand out whole events (for pacing) even when nothing is rewritten. */
    private readonly byEvent = false,
    /** Name this model in every event instead of the upstream's (the alias the client asked for). */
    private readonly restoreModel?: string,
  ) {
    this.splitter = kind === 'sse' ? new SseEventSplitter() : undefined;
    this.modelMember = restoreModel === undefined ? undefined : `"model":${JSON.stringify(restoreModel)}`;
    this.jsonChunks = kind === 'json' ? [] : undefined;
  }

  /** Whether chunks must go through `rewrite` instead of straight to the client. */
  get rewrites(): boolean {
    return (this.stripInjectedUsage || this.byEvent || this.restoreModel !== undefined) && this.splitter !== undefined;
  }

  /** Observes a chunk that goes to the client unchanged. */
  observe(chunk: Buffer): void {
    if (this.splitter) {
      for (const event of this.splitter.push(chunk)) observeEvent(this.exchange, event);
    } else if (this.jsonChunks) {
      this.jsonSize += chunk.length;
      if (this.jsonSize <= MAX_JSON_ANSWER) this.jsonChunks.push(chunk);
    }
  }

  /** Observes a chunk and returns the events the client should get of it (whole events only). */
  rewrite(chunk: Buffer): string[] {
    const out: string[] = [];
    for (const event of this.splitter!.push(chunk)) {
      observeEvent(this.exchange, event);
      if (this.stripInjectedUsage && isUsageOnlyChunk(event)) continue;
      let text = this.stripInjectedUsage ? event.replaceAll(',"usage":null', '') : event;
      if (this.restoreModel !== undefined) text = text.replace(MODEL_MEMBER, this.modelMember!);
      out.push(text + '\n\n');
    }
    return out;
  }

  /** Reads a kept JSON body once the answer is complete. */
  finish(): void {
    if (!this.jsonChunks || this.jsonSize > MAX_JSON_ANSWER || this.jsonSize === 0) return;
    try {
      const body = this.jsonChunks.length === 1 ? this.jsonChunks[0]! : Buffer.concat(this.jsonChunks, this.jsonSize);
      Object.assign(this.exchange, exchangeFromJson(JSON.parse(body.toString('utf8'))));
    } catch {
      // not JSON after all: nothing to learn
    }
  }
}

/**
 * A `"model": "…"` member of the event's JSON. Inside a JSON string every quote is escaped, so
 * this text can only be a member name, never part of the assistant's content.
 */
const MODEL_MEMBER = /"model"\s*:\s*"(?:[^"\\]|\\.)*"/g;

function isUsageOnlyChunk(event: string): boolean {
  return event.includes('"choices":[]') && event.includes('"usage":{');
}
