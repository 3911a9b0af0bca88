/**
 * An Anthropic-compatible mock, a real server on 127.0.0.1, faithful to the Messages API as the
 * recordings in test/fixtures/anthropic show it: `POST /v1/messages` as JSON or SSE (text, tool use,
 * prompt-cache usage), `GET /v1/models`, `request-id` and `anthropic-ratelimit-*` headers, the
 * required `x-api-key` and `anthropic-version`, and Anthropic's error bodies. Scriptable per key.
 */
import { EventEmitter, once } from 'node:events';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const FIXTURES = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../fixtures/anthropic');

export function anthropicFixture(name: string): string {
  return readFileSync(path.join(FIXTURES, name), 'utf8');
}

/** The recorded error bodies, by the name tests script them with. */
export const ANTHROPIC_ERRORS = {
  rate_limit: { status: 429, file: 'errors/429-rate_limit_error.json' },
  overloaded: { status: 529, file: 'errors/529-overloaded_error.json' },
  authentication: { status: 401, file: 'errors/401-authentication_error.json' },
  not_found: { status: 404, file: 'errors/404-not_found_error.json' },
} as const;

export type AnthropicBehavior =
  | { type: 'default' }
  | { type: 'error'; error: keyof typeof ANTHROPIC_ERRORS; headers?: Record<string, string> }
  /** A stream that sends `message_start` and one text delta, then drops the connection. */
  | { type: 'cut-after-start' }
  /** A stream with an event of a type Anthropic may add one day, among the known ones. */
  | { type: 'unknown-event' }
  /** A stream whose events come `delayMs` apart (to hold a request open). */
  | { type: 'slow-stream'; delayMs: number };

export interface AnthropicReceived {
  readonly method: string;
  readonly url: string;
  readonly headers: http.IncomingHttpHeaders;
  readonly body: Buffer;
  readonly key: string | undefined;
}

/** Versions the API takes (the SDK in use sends its own newest). */
const VERSIONS = new Set(['2023-01-01', '2023-06-01', '2026-10-21']);
const ANSWER_TEXT = 'Hello! How can I help you today?';
const MODELS = [
  { id: 'claude-sonnet-4-5-20250929', display_name: 'Claude Sonnet 4.5', created_at: '2025-09-29T00:00:00Z' },
  { id: 'claude-haiku-4-5-20251001', display_name: 'Claude Haiku 4.5', created_at: '2025-10-01T00:00:00Z' },
];

export class AnthropicMock extends EventEmitter {
  readonly received: AnthropicReceived[] = [];
  /** Keys accepted; others get Anthropic's 401. Undefined accepts any key. */
  validKeys: Set<string> | undefined;
  private readonly scripts = new Map<string, AnthropicBehavior[]>();
  private readonly sticky = new Map<string, AnthropicBehavior>();
  /** Prompt-cache prefixes written so far (a second request with one reads it). */
  private readonly cached = new Set<string>();
  private readonly sockets = new Set<Socket>();
  private readonly server = http.createServer((req, res) => void this.handle(req, res));
  port = 0;

  constructor() {
    super();
    this.server.on('connection', (socket) => {
      this.sockets.add(socket);
      socket.on('close', () => this.sockets.delete(socket));
    });
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  async start(): Promise<this> {
    this.server.listen(0, '127.0.0.1');
    await once(this.server, 'listening');
    this.port = (this.server.address() as AddressInfo).port;
    return this;
  }

  close(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }

  /** Answers the next requests with `key` ('*': any key) this way, one behavior each. */
  script(key: string, ...behaviors: AnthropicBehavior[]): this {
    this.scripts.set(key, [...(this.scripts.get(key) ?? []), ...behaviors]);
    return this;
  }

  /** Answers every request with `key` this way until reset. */
  always(key: string, behavior: AnthropicBehavior): this {
    this.sticky.set(key, behavior);
    return this;
  }

  reset(): void {
    this.received.length = 0;
    this.scripts.clear();
    this.sticky.clear();
    this.cached.clear();
    this.validKeys = undefined;
  }

  private next(key: string | undefined): AnthropicBehavior {
    for (const name of [key ?? '', '*']) {
      const queue = this.scripts.get(name);
      if (queue && queue.length > 0) return queue.shift()!;
      const sticky = this.sticky.get(name);
      if (sticky) return sticky;
    }
    return { type: 'default' };
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const key = typeof req.headers['x-api-key'] === 'string' ? req.headers['x-api-key'] : undefined;
    const request = {
      method: req.method ?? 'GET',
      url: req.url ?? '/',
      headers: req.headers,
      body: Buffer.concat(chunks),
      key,
    };
    this.received.push(request);
    this.emit('request', request);
    if (!key || (this.validKeys && !this.validKeys.has(key))) return this.sendError(res, 'authentication');
    const version = req.headers['anthropic-version'];
    if (typeof version !== 'string')
      return this.sendBody(res, 400, invalidRequest('anthropic-version: header is required'));
    if (!VERSIONS.has(version))
      return this.sendBody(res, 400, invalidRequest(`anthropic-version: "${version}" is not a valid version`));
    const url = req.url ?? '/';
    if (req.method === 'GET' && url.startsWith('/v1/models')) return this.sendModels(res);
    if (req.method !== 'POST' || !url.startsWith('/v1/messages'))
      return this.sendBody(res, 404, { type: 'error', error: { type: 'not_found_error', message: 'Not found' } });
    let body: Record<string, any>;
    try {
      body = JSON.parse(request.body.toString('utf8')) as Record<string, any>;
    } catch {
      return this.sendBody(res, 400, invalidRequest('Request body is not valid JSON'));
    }
    if (typeof body.model !== 'string') return this.sendBody(res, 400, invalidRequest('model: Field required'));
    if (typeof body.max_tokens !== 'number')
      return this.sendBody(res, 400, invalidRequest('max_tokens: Field required'));
    const behavior = this.next(key);
    if (behavior.type === 'error') return this.sendError(res, behavior.error, behavior.headers);
    const usage = this.usageFor(body, request.body);
    // Tool use when the request forces it (tool_choice any or tool), as a model asked to would.
    const forced = body.tool_choice?.type === 'any' || body.tool_choice?.type === 'tool';
    const toolName =
      forced && Array.isArray(body.tools) && body.tools.length > 0
        ? String(body.tool_choice.name ?? body.tools[0].name)
        : undefined;
    if (body.stream === true) return this.sendStream(res, body.model, usage, toolName, behavior);
    const message = JSON.parse(anthropicFixture('message.json')) as Record<string, any>;
    message.id = `msg_${randomBytes(12).toString('hex')}`;
    message.model = body.model;
    message.content = toolName
      ? [
          { type: 'text', text: 'Let me look that up.' },
          {
            type: 'tool_use',
            id: `toolu_${randomBytes(8).toString('hex')}`,
            name: toolName,
            input: { location: 'San Francisco' },
          },
        ]
      : [{ type: 'text', text: ANSWER_TEXT }];
    message.stop_reason = toolName ? 'tool_use' : 'end_turn';
    message.usage = { ...usage, output_tokens: outputTokens(toolName) };
    this.sendBody(res, 200, message);
  }

  /**
   * The prompt's usage: a token per four bytes of the body (a stand-in for Anthropic's count); a
   * block marked `cache_control` writes its prefix to the cache the first time and reads it after.
   */
  private usageFor(body: Record<string, any>, raw: Buffer): Record<string, unknown> {
    const input = Math.ceil(raw.length / 4);
    const marked = raw.includes('"cache_control"');
    if (!marked) return { input_tokens: input, cache_creation_input_tokens: 0, cache_read_input_tokens: 0 };
    const prefix = JSON.stringify(body.system ?? body.tools ?? '');
    const cachedTokens = Math.ceil(prefix.length / 4);
    const hour = raw.includes('"ttl":"1h"');
    const read = this.cached.has(prefix);
    this.cached.add(prefix);
    return {
      input_tokens: Math.max(1, input - cachedTokens),
      cache_creation_input_tokens: read ? 0 : cachedTokens,
      cache_read_input_tokens: read ? cachedTokens : 0,
      cache_creation: {
        ephemeral_5m_input_tokens: read || hour ? 0 : cachedTokens,
        ephemeral_1h_input_tokens: read || !hour ? 0 : cachedTokens,
      },
    };
  }

  private async sendStream(
    res: ServerResponse,
    model: string,
    usage: Record<string, unknown>,
    toolName: string | undefined,
    behavior: AnthropicBehavior,
  ): Promise<void> {
    res.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-cache',
      ...headers(),
    });
    const id = `msg_${randomBytes(12).toString('hex')}`;
    const events: [string, unknown][] = [
      [
        'message_start',
        {
          type: 'message_start',
          message: {
            id,
            type: 'message',
            role: 'assistant',
            content: [],
            model,
            stop_reason: null,
            stop_sequence: null,
            usage: { ...usage, output_tokens: 1 },
          },
        },
      ],
      ['content_block_start', { type: 'content_block_start', index: 0, content_block: { type: 'text', text: '' } }],
      ['ping', { type: 'ping' }],
    ];
    const words = ANSWER_TEXT.split(/(?<= )/);
    for (const word of words)
      events.push([
        'content_block_delta',
        { type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text: word } },
      ]);
    events.push(['content_block_stop', { type: 'content_block_stop', index: 0 }]);
    if (toolName) {
      events.push(
        [
          'content_block_start',
          {
            type: 'content_block_start',
            index: 1,
            content_block: { type: 'tool_use', id: 'toolu_mock', name: toolName, input: {} },
          },
        ],
        [
          'content_block_delta',
          { type: 'content_block_delta', index: 1, delta: { type: 'input_json_delta', partial_json: '{"location": ' } },
        ],
        [
          'content_block_delta',
          {
            type: 'content_block_delta',
            index: 1,
            delta: { type: 'input_json_delta', partial_json: '"San Francisco"}' },
          },
        ],
        ['content_block_stop', { type: 'content_block_stop', index: 1 }],
      );
    }
    if (behavior.type === 'unknown-event')
      events.splice(3, 0, ['future_event', { type: 'future_event', note: 'not yet known' }]);
    events.push(
      [
        'message_delta',
        {
          type: 'message_delta',
          delta: { stop_reason: toolName ? 'tool_use' : 'end_turn', stop_sequence: null },
          usage: { output_tokens: outputTokens(toolName) },
        },
      ],
      ['message_stop', { type: 'message_stop' }],
    );
    const delayMs = behavior.type === 'slow-stream' ? behavior.delayMs : 0;
    for (const [index, [event, data]] of events.entries()) {
      if (behavior.type === 'cut-after-start' && index === 4) {
        res.socket?.destroy();
        return;
      }
      const written = new Promise<void>((resolve) =>
        res.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`, () => resolve()),
      );
      // A cut stream's events are on the wire before the connection drops.
      if (behavior.type === 'cut-after-start') await written;
      if (delayMs > 0) await new Promise((resolve) => setTimeout(resolve, delayMs));
    }
    res.end();
  }

  private sendModels(res: ServerResponse): void {
    const data = MODELS.map((model) => ({ type: 'model', ...model }));
    this.sendBody(res, 200, { data, has_more: false, first_id: data[0]!.id, last_id: data.at(-1)!.id });
  }

  private sendError(
    res: ServerResponse,
    name: keyof typeof ANTHROPIC_ERRORS,
    extra: Record<string, string> = {},
  ): void {
    const { status, file } = ANTHROPIC_ERRORS[name];
    const body = anthropicFixture(file).trim();
    const limits =
      name === 'rate_limit'
        ? {
            'retry-after': '1',
            'anthropic-ratelimit-requests-remaining': '0',
            'anthropic-ratelimit-requests-reset': new Date(Date.now() + 1000).toISOString(),
          }
        : {};
    res.writeHead(status, {
      'content-type': 'application/json',
      'content-length': Buffer.byteLength(body),
      ...headers(),
      ...limits,
      ...extra,
    });
    res.end(body);
  }

  private sendBody(res: ServerResponse, status: number, payload: unknown): void {
    const body = JSON.stringify(payload);
    res.writeHead(status, {
      'content-type': 'application/json',
      'content-length': Buffer.byteLength(body),
      ...headers(),
    });
    res.end(body);
  }
}

function invalidRequest(message: string): unknown {
  return { type: 'error', error: { type: 'invalid_request_error', message } };
}

/** What the answers' text (and tool call) cost: the word count of the text, plus the call. */
function outputTokens(toolName: string | undefined): number {
  return ANSWER_TEXT.split(' ').length + (toolName ? 12 : 0);
}

/** Every answer's `request-id` and `anthropic-ratelimit-*` (resets a minute off, as RFC 3339 times). */
function headers(): Record<string, string> {
  const reset = new Date(Date.now() + 60_000).toISOString();
  return {
    'request-id': `req_${randomBytes(12).toString('hex')}`,
    'anthropic-ratelimit-requests-limit': '50',
    'anthropic-ratelimit-requests-remaining': '49',
    'anthropic-ratelimit-requests-reset': reset,
    'anthropic-ratelimit-tokens-limit': '100000',
    'anthropic-ratelimit-tokens-remaining': '99000',
    'anthropic-ratelimit-tokens-reset': reset,
  };
}
