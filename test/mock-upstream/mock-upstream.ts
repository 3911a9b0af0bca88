/**
 * An OpenAI-compatible upstream for tests and benchmarks: a real HTTP server on 127.0.0.1 with an
 * ephemeral port. It answers like OpenAI (recorded bodies, headers, SSE framing, error bodies) and
 * can be scripted per API key: errors, hangs, dropped streams, slow chunks. It records what it got.
 */
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import https from 'node:https';
import type { AddressInfo, Socket } from 'node:net';
import { EventEmitter, once } from 'node:events';
import { randomBytes } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import { ERROR_FIXTURES, fixture, type ErrorFixtureName } from './fixtures.js';
import { chatCompletionJson, chatStreamEvents, completionJson, responsesJson } from './answers.js';
import { RealtimeEndpoint } from './realtime.js';
import type { Duplex } from 'node:stream';

export type Behavior =
  | { type: 'default' }
  /** A recorded OpenAI error (or any status and body). */
  | { type: 'error'; error: ErrorFixtureName; headers?: Record<string, string> }
  | { type: 'status'; status: number; body?: string; headers?: Record<string, string> }
  /** Accept the request and never answer. */
  | { type: 'hang' }
  /** Send 200 SSE headers, then nothing. */
  | { type: 'hang-after-headers' }
  /** Send the headers of a 200 JSON answer, then nothing. */
  | { type: 'hang-after-json-headers' }
  /** Stream `afterChunks` events, then cut the connection. */
  | { type: 'drop-mid-stream'; afterChunks: number }
  /** Stream `afterChunks` events, then send nothing more and never end. */
  | { type: 'stall-mid-stream'; afterChunks: number }
  /** Close the socket without answering. */
  | { type: 'reset' }
  /** 200 with a body that is not what OpenAI sends. */
  | { type: 'garbage' }
  /** A fixture file's bytes, as recorded. */
  | { type: 'replay'; file: string; contentType?: string; status?: number }
  /** Override the shape of a streamed answer. */
  | { type: 'stream'; chunks?: number; delayMs?: number; omitUsage?: boolean; cumulativeUsage?: boolean }
  /** `afterChunks` stream events, then an error inside the 200 stream. */
  | { type: 'stream-error'; afterChunks: number; error: ErrorFixtureName }
  /** The recorded chat completion, gzip-encoded (as OpenAI sends it to clients that accept gzip). */
  | { type: 'gzip' }
  /** The recorded chat completion without Content-Length, written in `pieces` chunks. */
  | { type: 'chunked'; pieces: number }
  /** The recorded chat completion under a content type that is not JSON. */
  | { type: 'wrong-type' }
  /** The recorded chat completion one `bytes`-sized piece every `delayMs`. */
  | { type: 'trickle'; bytes: number; delayMs: number }
  /** A JSON answer of `bytes` bytes, written as fast as the reader takes it (see `largeBytesWritten`). */
  | { type: 'large'; bytes: number };

export interface ReceivedRequest {
  readonly seq: number;
  readonly method: string;
  readonly url: string;
  readonly headers: http.IncomingHttpHeaders;
  readonly body: Buffer;
  /** The bearer token (or api-key header) the request carried. */
  readonly key: string | undefined;
  /** True once the connection closed before the answer was complete. */
  aborted: boolean;
  /** True once the answer was sent in full. */
  finished: boolean;
}

export interface RateLimitState {
  limitRequests: number;
  remainingRequests: number;
  resetRequests: string;
  limitTokens: number;
  remainingTokens: number;
  resetTokens: string;
}

export interface MockOptions {
  /** Content events in a default stream. */
  streamChunks: number;
  /** Delay between stream events. */
  chunkDelayMs: number;
  /** Keys that are accepted; others get OpenAI's 401. Undefined accepts any key. */
  validKeys: Set<string> | undefined;
  /** The model ids `GET /v1/models` lists; undefined replays the recorded list. */
  modelIds: string[] | undefined;
  /** Keep every request in `received` (a soak turns it off to measure, not to hoard). */
  keepReceived: boolean;
}

const ANY = '*';

export class MockUpstream extends EventEmitter {
  readonly received: ReceivedRequest[] = [];
  /** Bytes of the last `large` answer handed to its socket so far (they wait there for the reader). */
  largeBytesWritten = 0;
  readonly options: MockOptions = {
    streamChunks: 5,
    chunkDelayMs: 0,
    validKeys: undefined,
    modelIds: undefined,
    keepReceived: true,
  };
  /** The Realtime WebSocket endpoint: its options and the sessions it ran. */
  readonly realtime = new RealtimeEndpoint();
  private readonly scripts = new Map<string, Behavior[]>();
  private readonly sticky = new Map<string, Behavior>();
  private readonly rateLimits = new Map<string, Partial<RateLimitState>>();
  private readonly sockets = new Set<Socket>();
  private readonly server: http.Server;
  private seq = 0;
  port = 0;
  /** Requests answered since start (kept or not). */
  served = 0;

  /** `tls`: serve HTTPS with this certificate (a private CA's upstream, or one behind a proxy). */
  constructor(private readonly tls?: { key: string; cert: string }) {
    super();
    const handler = (req: IncomingMessage, res: ServerResponse) => void this.handle(req, res);
    this.server = tls ? https.createServer(tls, handler) : http.createServer(handler);
    this.server.on('connection', (socket) => {
      this.sockets.add(socket);
      socket.on('close', () => this.sockets.delete(socket));
    });
    this.server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) =>
      this.handleUpgrade(req, socket, head),
    );
  }

  get url(): string {
    return `${this.tls ? 'https' : 'http'}://127.0.0.1:${this.port}`;
  }

  async start(): Promise<this> {
    this.server.listen(0, '127.0.0.1');
    await once(this.server, 'listening');
    this.port = (this.server.address() as AddressInfo).port;
    return this;
  }

  async close(): Promise<void> {
    this.realtime.closeAll();
    for (const socket of this.sockets) socket.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  /** The next requests made with `key` (or '*' for any key) behave as given, in order, once each. */
  script(key: string, ...behaviors: Behavior[]): this {
    const queue = this.scripts.get(key) ?? [];
    queue.push(...behaviors);
    this.scripts.set(key, queue);
    return this;
  }

  /** Every request made with `key` behaves as given until `reset()`. */
  always(key: string, behavior: Behavior): this {
    this.sticky.set(key, behavior);
    return this;
  }

  setRateLimit(key: string, state: Partial<RateLimitState>): this {
    this.rateLimits.set(key, state);
    return this;
  }

  reset(): void {
    this.scripts.clear();
    this.sticky.clear();
    this.rateLimits.clear();
    this.received.length = 0;
    this.options.streamChunks = 5;
    this.options.chunkDelayMs = 0;
    this.options.validKeys = undefined;
    this.options.modelIds = undefined;
    this.realtime.reset();
  }

  /** Resolves with the first received request (past or future) that matches. */
  waitForRequest(match: (request: ReceivedRequest) => boolean = () => true): Promise<ReceivedRequest> {
    const found = this.received.find(match);
    if (found) return Promise.resolve(found);
    return new Promise((resolve) => {
      const onRequest = (request: ReceivedRequest) => {
        if (!match(request)) return;
        this.off('request', onRequest);
        resolve(request);
      };
      this.on('request', onRequest);
    });
  }

  /** Resolves when `request`'s connection closed before its answer was complete. */
  waitForAbort(request: ReceivedRequest): Promise<void> {
    if (request.aborted) return Promise.resolve();
    return new Promise((resolve) => {
      const onAbort = (aborted: ReceivedRequest) => {
        if (aborted !== request) return;
        this.off('aborted', onAbort);
        resolve();
      };
      this.on('aborted', onAbort);
    });
  }

  private nextBehavior(key: string | undefined): Behavior {
    for (const name of [key ?? '', ANY]) {
      const queue = this.scripts.get(name);
      if (queue && queue.length > 0) return queue.shift()!;
      const sticky = this.sticky.get(name);
      if (sticky) return sticky;
    }
    return { type: 'default' };
  }

  /** Keeps (unless told not to), counts and announces a request. */
  private record(req: IncomingMessage, key: string | undefined, body: Buffer, finished: boolean): ReceivedRequest {
    const request: ReceivedRequest = {
      seq: ++this.seq,
      method: req.method ?? 'GET',
      url: req.url ?? '/',
      headers: req.headers,
      body,
      key,
      aborted: false,
      finished,
    };
    if (this.options.keepReceived) this.received.push(request);
    this.served++;
    this.emit('request', request);
    return request;
  }

  /**
   * A WebSocket handshake: recorded like a request; a scripted error (or an unknown key) refuses it
   * with OpenAI's HTTP error answer, as OpenAI refuses a handshake; otherwise a Realtime session.
   */
  private handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    const key = keyOf(req) ?? subprotocolKey(req);
    this.record(req, key, Buffer.alloc(0), true);
    socket.on('error', () => undefined);
    const refuse = (status: number, body: string, headers: Record<string, string> = {}) => {
      const lines = [`HTTP/1.1 ${status} ${http.STATUS_CODES[status] ?? 'Error'}`];
      const all = {
        'content-type': 'application/json',
        'content-length': String(Buffer.byteLength(body)),
        'x-request-id': requestId(),
        // It closes after the refusal, and says so (RFC 9112 §9.6), as a server must.
        connection: 'close',
        ...headers,
      };
      for (const [name, value] of Object.entries(all)) lines.push(`${name}: ${value}`);
      socket.end(`${lines.join('\r\n')}\r\n\r\n${body}`);
    };
    if (!(req.url ?? '').startsWith('/v1/realtime')) {
      refuse(
        404,
        JSON.stringify({ error: { message: 'Not found', type: 'invalid_request_error', param: null, code: null } }),
      );
      return;
    }
    if (this.options.validKeys && (!key || !this.options.validKeys.has(key))) {
      const { status, file } = ERROR_FIXTURES.invalid_api_key;
      refuse(status, fixture(file).toString());
      return;
    }
    const behavior = this.nextBehavior(key);
    if (behavior.type === 'error') {
      const { status, file } = ERROR_FIXTURES[behavior.error];
      refuse(status, fixture(file).toString(), behavior.headers);
      return;
    }
    if (behavior.type === 'status') {
      refuse(behavior.status, behavior.body ?? '', behavior.headers);
      return;
    }
    if (behavior.type === 'hang') return;
    this.realtime.accept(req, socket, head, key);
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const key = keyOf(req);
    const request = this.record(req, key, Buffer.concat(chunks), false);
    res.on('finish', () => {
      request.finished = true;
    });
    res.on('close', () => {
      if (request.finished) return;
      request.aborted = true;
      this.emit('aborted', request);
    });

    if (this.options.validKeys && (!key || !this.options.validKeys.has(key))) {
      this.sendFixtureError(res, 'invalid_api_key');
      return;
    }
    const asked = req.headers['x-mock-error'];
    const behavior: Behavior =
      typeof asked === 'string' && asked in ERROR_FIXTURES
        ? { type: 'error', error: asked as ErrorFixtureName }
        : this.nextBehavior(key);
    await this.answer(req, res, request, behavior);
  }

  private async answer(
    req: IncomingMessage,
    res: ServerResponse,
    request: ReceivedRequest,
    behavior: Behavior,
  ): Promise<void> {
    switch (behavior.type) {
      case 'error':
        this.sendFixtureError(res, behavior.error, behavior.headers);
        return;
      case 'status':
        res.writeHead(behavior.status, {
          'content-type': 'application/json',
          ...this.openaiHeaders(request),
          ...behavior.headers,
        });
        res.end(behavior.body ?? '');
        return;
      case 'hang':
        return;
      case 'hang-after-headers':
        res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', ...this.openaiHeaders(request) });
        res.flushHeaders();
        return;
      case 'hang-after-json-headers':
        res.writeHead(200, { 'content-type': 'application/json', ...this.openaiHeaders(request) });
        res.flushHeaders();
        return;
      case 'reset':
        req.socket.destroy();
        return;
      case 'garbage':
        res.writeHead(200, { 'content-type': 'text/html' });
        res.end('<html><body>502 Bad Gateway</body></html>');
        return;
      case 'replay':
        this.replay(res, request, behavior.file, behavior.contentType, behavior.status);
        return;
      case 'gzip': {
        const body = gzipSync(fixture('chat-completion.json'));
        res.writeHead(200, {
          'content-type': 'application/json',
          'content-encoding': 'gzip',
          'content-length': body.length,
          ...this.openaiHeaders(request),
        });
        res.end(body);
        return;
      }
      case 'large':
        await this.sendLarge(res, request, behavior.bytes);
        return;
      case 'wrong-type':
        this.sendJson(res, request, 200, fixture('chat-completion.json'), {
          'content-type': 'text/plain; charset=utf-8',
        });
        return;
      case 'chunked':
      case 'trickle': {
        const body = fixture('chat-completion.json');
        const size = behavior.type === 'chunked' ? Math.ceil(body.length / behavior.pieces) : behavior.bytes;
        res.writeHead(200, { 'content-type': 'application/json', ...this.openaiHeaders(request) });
        for (let at = 0; at < body.length; at += size) {
          if (res.destroyed) return;
          if (behavior.type === 'trickle' && at > 0) await sleep(behavior.delayMs);
          await new Promise<void>((resolve) => res.write(body.subarray(at, at + size), () => resolve()));
        }
        res.end();
        return;
      }
      default:
        await this.route(req, res, request, behavior);
    }
  }

  private async route(
    req: IncomingMessage,
    res: ServerResponse,
    request: ReceivedRequest,
    behavior: Behavior,
  ): Promise<void> {
    // Azure's v1 API serves the same paths under /openai.
    const path = request.url.split('?', 1)[0]!.replace(/^\/openai(?=\/v1\/)/, '');
    // The benchmark's large prompts: answered without reading them, so the mock's own parse of a
    // 1 MB body does not hold up the streams it serves meanwhile.
    const json = req.headers['x-mock-ignore-body'] ? undefined : parseJson(request.body);
    const method = request.method;
    if (method === 'POST' && path === '/v1/chat/completions') {
      if (json?.stream === true) {
        if (Array.isArray(json.tools) && behavior.type === 'default') {
          this.replay(res, request, 'chat-stream-tool-calls.sse');
          return;
        }
        const includeUsage = (json.stream_options as { include_usage?: boolean } | undefined)?.include_usage === true;
        const shaped = behavior.type === 'stream' ? behavior : headerShaped(req);
        const events = chatStreamEvents({
          model: typeof json.model === 'string' ? json.model : 'gpt-4o-mini',
          chunks: shaped?.chunks ?? this.options.streamChunks,
          includeUsage,
          id: Number(req.headers['x-mock-answer-id'] ?? request.seq),
          omitUsage: shaped?.omitUsage,
          cumulativeUsage: shaped?.cumulativeUsage,
        });
        await this.stream(res, request, events, shaped ?? behavior);
        return;
      }
      this.sendJson(
        res,
        request,
        200,
        json?.model === undefined || json.model === 'gpt-4o-mini'
          ? fixture('chat-completion.json')
          : chatCompletionJson(String(json.model)),
      );
      return;
    }
    if (method === 'POST' && path === '/v1/completions') {
      if (json?.stream === true) {
        this.replay(res, request, 'completions-stream.sse');
        return;
      }
      this.sendJson(res, request, 200, completionJson(String(json?.model ?? 'gpt-3.5-turbo-instruct')));
      return;
    }
    if (method === 'POST' && path === '/v1/embeddings') {
      this.sendJson(res, request, 200, fixture('embeddings.json'), { 'openai-model': 'text-embedding-3-small' });
      return;
    }
    if (method === 'GET' && path === '/v1/models') {
      const ids = this.options.modelIds;
      const list =
        ids &&
        JSON.stringify({
          object: 'list',
          data: ids.map((id) => ({ id, object: 'model', created: 1_700_000_000, owned_by: 'mock' })),
        });
      this.sendJson(res, request, 200, list ?? fixture('models.json'), {}, false);
      return;
    }
    if (method === 'GET' && path.startsWith('/v1/models/')) {
      if (path === '/v1/models/gpt-4o-mini')
        this.sendJson(res, request, 200, fixture('model-retrieve.json'), {}, false);
      else this.sendJson(res, request, 404, fixture('errors/404-model_not_found-retrieve-model.json'), {}, false);
      return;
    }
    if (method === 'POST' && path === '/v1/responses') {
      if (json?.stream === true) this.replay(res, request, 'responses-stream.sse');
      else this.sendJson(res, request, 200, responsesJson(String(json?.model ?? 'gpt-4o-mini')));
      return;
    }
    if (method === 'POST' && path === '/v1/images/generations') {
      this.sendJson(
        res,
        request,
        200,
        JSON.stringify({ created: 1_700_000_000, data: [{ b64_json: randomBytes(48).toString('base64') }] }),
      );
      return;
    }
    if (method === 'POST' && (path === '/v1/audio/transcriptions' || path === '/v1/audio/translations')) {
      this.sendJson(res, request, 200, JSON.stringify({ text: `received ${request.body.length} bytes` }));
      return;
    }
    if (method === 'GET' && path === '/v1/files') {
      this.sendJson(res, request, 200, JSON.stringify({ object: 'list', data: [], has_more: false }));
      return;
    }
    const body =
      JSON.stringify(
        {
          error: { message: `Invalid URL (${method} ${path})`, type: 'invalid_request_error', param: null, code: null },
        },
        null,
        4,
      ) + '\n';
    this.sendJson(res, request, 404, body, {}, false);
  }

  private async stream(
    res: ServerResponse,
    request: ReceivedRequest,
    events: string[],
    behavior: Behavior,
  ): Promise<void> {
    const delayMs =
      behavior.type === 'stream' && behavior.delayMs !== undefined ? behavior.delayMs : this.options.chunkDelayMs;
    res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', ...this.openaiHeaders(request) });
    res.flushHeaders();
    for (let i = 0; i < events.length; i++) {
      if (res.destroyed) return;
      if (behavior.type === 'stall-mid-stream' && i === behavior.afterChunks) return;
      if (behavior.type === 'drop-mid-stream' && i === behavior.afterChunks) {
        res.socket?.destroy();
        return;
      }
      if (behavior.type === 'stream-error' && i === behavior.afterChunks) {
        const body = JSON.parse(fixture(ERROR_FIXTURES[behavior.error].file).toString('utf8')) as unknown;
        res.end(`data: ${JSON.stringify(body)}\n\n`);
        return;
      }
      if (delayMs > 0 && i > 0 && !isTrailer(events[i]!)) await sleep(delayMs);
      if (res.destroyed) return;
      // wait for the bytes to leave, so that a scripted drop cuts after them and not before
      await new Promise<void>((resolve) => res.write(events[i], () => resolve()));
    }
    res.end();
  }

  private async sendLarge(res: ServerResponse, request: ReceivedRequest, bytes: number): Promise<void> {
    const head = '{"object":"padding","padding":"';
    const tail = '"}';
    const piece = Buffer.alloc(64 * 1024, 'x');
    this.largeBytesWritten = 0;
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': bytes, ...this.openaiHeaders(request) });
    const write = (chunk: Buffer | string) => {
      this.largeBytesWritten += chunk.length;
      return res.write(chunk);
    };
    write(head);
    for (let left = bytes - head.length - tail.length; left > 0; left -= piece.length) {
      if (res.destroyed) return;
      if (!write(left >= piece.length ? piece : piece.subarray(0, left)))
        await Promise.race([once(res, 'drain'), once(res, 'close')]);
    }
    this.largeBytesWritten += tail.length;
    res.end(tail);
  }

  private replay(
    res: ServerResponse,
    request: ReceivedRequest,
    file: string,
    contentType?: string,
    status = 200,
  ): void {
    const bytes = fixture(file);
    const type = contentType ?? (file.endsWith('.sse') ? 'text/event-stream; charset=utf-8' : 'application/json');
    const headers: http.OutgoingHttpHeaders = { 'content-type': type, ...this.openaiHeaders(request) };
    if (!file.endsWith('.sse')) headers['content-length'] = bytes.length;
    res.writeHead(status, headers);
    res.end(bytes);
  }

  private sendJson(
    res: ServerResponse,
    request: ReceivedRequest,
    status: number,
    body: string | Buffer,
    extra: http.OutgoingHttpHeaders = {},
    rateLimited = true,
  ): void {
    const headers: http.OutgoingHttpHeaders = {
      'content-type': 'application/json',
      'content-length': Buffer.byteLength(body),
      ...(rateLimited ? this.openaiHeaders(request) : baseHeaders()),
      ...extra,
    };
    res.writeHead(status, headers);
    res.end(body);
  }

  private sendFixtureError(res: ServerResponse, name: ErrorFixtureName, extra: Record<string, string> = {}): void {
    const { status, file } = ERROR_FIXTURES[name];
    const body = fixture(file);
    res.writeHead(status, {
      'content-type': status === 401 ? 'application/json; charset=utf-8' : 'application/json',
      'content-length': body.length,
      'x-request-id': requestId(),
      ...extra,
    });
    res.end(body);
  }

  /** OpenAI's response headers, with per-key rate-limit state in its duration format. */
  private openaiHeaders(request: ReceivedRequest): http.OutgoingHttpHeaders {
    const state: RateLimitState = {
      limitRequests: 30000,
      remainingRequests: 29999,
      resetRequests: '2ms',
      limitTokens: 150000000,
      remainingTokens: 149999990,
      resetTokens: '0s',
      ...this.rateLimits.get(request.key ?? ''),
    };
    return {
      ...baseHeaders(),
      'openai-organization': 'user-mock',
      'openai-processing-ms': String(40 + (request.seq % 50)),
      'x-ratelimit-limit-requests': String(state.limitRequests),
      'x-ratelimit-limit-tokens': String(state.limitTokens),
      'x-ratelimit-remaining-requests': String(state.remainingRequests),
      'x-ratelimit-remaining-tokens': String(state.remainingTokens),
      'x-ratelimit-reset-requests': state.resetRequests,
      'x-ratelimit-reset-tokens': state.resetTokens,
    };
  }
}

/**
 * The usage-only chunk and `[DONE]` that close a stream are not generated tokens: OpenAI sends
 * them right after the finish chunk, so the mock does not wait before them.
 */
function isTrailer(event: string): boolean {
  return event === 'data: [DONE]\n\n' || event.includes('"choices":[],');
}

/** `x-mock-chunks` / `x-mock-delay-ms` request headers shape a stream (benchmarks send them through aifd). */
function headerShaped(req: IncomingMessage): Extract<Behavior, { type: 'stream' }> | undefined {
  const chunks = req.headers['x-mock-chunks'];
  const delay = req.headers['x-mock-delay-ms'];
  if (chunks === undefined && delay === undefined) return undefined;
  return {
    type: 'stream',
    chunks: chunks === undefined ? undefined : Number(chunks),
    delayMs: delay === undefined ? undefined : Number(delay),
  };
}

function baseHeaders(): http.OutgoingHttpHeaders {
  return { 'openai-version': '2020-10-01', 'x-request-id': requestId() };
}

function requestId(): string {
  return 'req_' + randomBytes(16).toString('hex');
}

function keyOf(req: IncomingMessage): string | undefined {
  const auth = req.headers.authorization;
  if (auth?.startsWith('Bearer ')) return auth.slice(7);
  const apiKey = req.headers['api-key'];
  return typeof apiKey === 'string' ? apiKey : undefined;
}

function parseJson(body: Buffer): Record<string, unknown> | undefined {
  if (body.length === 0) return undefined;
  try {
    const parsed = JSON.parse(body.toString('utf8')) as unknown;
    return parsed && typeof parsed === 'object' ? (parsed as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

export async function startMockUpstream(tls?: { key: string; cert: string }): Promise<MockUpstream> {
  return new MockUpstream(tls).start();
}

/** A browser's credential: the `openai-insecure-api-key.<key>` entry of Sec-WebSocket-Protocol. */
function subprotocolKey(req: IncomingMessage): string | undefined {
  const offered = req.headers['sec-websocket-protocol'] ?? '';
  const entry = offered
    .split(',')
    .map((part) => part.trim())
    .find((part) => part.startsWith('openai-insecure-api-key.'));
  return entry?.slice('openai-insecure-api-key.'.length);
}
