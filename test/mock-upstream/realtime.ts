/**
 * The mock upstream's Realtime endpoint (`GET /v1/realtime?model=…` with `Upgrade: websocket`),
 * speaking OpenAI's server events: `session.created` on connect; `session.update` →
 * `session.updated`; `conversation.item.create` → `conversation.item.created`;
 * `input_audio_buffer.commit` → `input_audio_buffer.committed` and a transcription; `response.create`
 * → `response.created`, deltas, `response.done` with usage in OpenAI's shape. Unknown events get an
 * `error` event, as OpenAI answers them.
 */
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { randomBytes } from 'node:crypto';
import { WebSocketServer, type WebSocket, type RawData } from 'ws';

export interface RealtimeOptions {
  /** Text deltas per response. */
  deltas: number;
  /** Bytes of base64 audio in each `response.output_audio.delta` (0: none). */
  audioDeltaBytes: number;
  /** The usage each `response.done` reports. */
  usage: RealtimeUsage;
  /** Close the session with this code right after `response.created` (an upstream that breaks off). */
  closeAfterCreated: number | undefined;
  /** Echo every binary or unknown-type message back as it came (for relay tests and benchmarks). */
  echo: boolean;
}

export interface RealtimeUsage {
  total_tokens: number;
  input_tokens: number;
  output_tokens: number;
  input_token_details: {
    text_tokens: number;
    audio_tokens: number;
    image_tokens: number;
    cached_tokens: number;
    cached_tokens_details: { text_tokens: number; audio_tokens: number; image_tokens: number };
  };
  output_token_details: { text_tokens: number; audio_tokens: number };
}

/** The usage object of OpenAI's documented `response.done` example (its numbers). */
export const DOCUMENTED_USAGE: RealtimeUsage = {
  total_tokens: 253,
  input_tokens: 132,
  output_tokens: 121,
  input_token_details: {
    text_tokens: 119,
    audio_tokens: 13,
    image_tokens: 0,
    cached_tokens: 64,
    cached_tokens_details: { text_tokens: 64, audio_tokens: 0, image_tokens: 0 },
  },
  output_token_details: { text_tokens: 30, audio_tokens: 91 },
};

function defaultRealtimeOptions(): RealtimeOptions {
  return { deltas: 3, audioDeltaBytes: 0, usage: DOCUMENTED_USAGE, closeAfterCreated: undefined, echo: false };
}

/** One session as the mock saw it. */
export interface RealtimeSession {
  readonly url: string;
  readonly headers: IncomingMessage['headers'];
  readonly key: string | undefined;
  /** Client events by type, in order. */
  readonly events: string[];
  /** Binary or echoed messages received. */
  messages: number;
  /** The close code the mock got from its peer, once closed. */
  closeCode: number | undefined;
  /** Bytes the mock has sent that its socket has not taken yet (the peer holds back). */
  buffered(): number;
  closed: Promise<number>;
}

const eventId = () => `event_${randomBytes(8).toString('hex')}`;

export class RealtimeEndpoint {
  readonly sessions: RealtimeSession[] = [];
  readonly options: RealtimeOptions = defaultRealtimeOptions();
  private readonly server = new WebSocketServer({ noServer: true, maxPayload: 64 * 1024 * 1024 });
  private readonly open = new Set<WebSocket>();

  reset(): void {
    Object.assign(this.options, defaultRealtimeOptions());
    this.sessions.length = 0;
  }

  closeAll(): void {
    for (const socket of this.open) socket.terminate();
  }

  /** Accepts the upgrade and runs a session. */
  accept(req: IncomingMessage, socket: Duplex, head: Buffer, key: string | undefined): void {
    this.server.handleUpgrade(req, socket, head, (ws) => this.run(ws, req, key));
  }

  private run(ws: WebSocket, req: IncomingMessage, key: string | undefined): void {
    this.open.add(ws);
    const model = new URL(req.url ?? '/', 'http://mock').searchParams.get('model') ?? 'gpt-realtime';
    let resolveClosed: (code: number) => void = () => undefined;
    const session: RealtimeSession = {
      url: req.url ?? '/',
      headers: req.headers,
      key,
      events: [],
      messages: 0,
      closeCode: undefined,
      buffered: () =>
        ws.bufferedAmount + ((ws as unknown as { _socket?: { writableLength: number } })._socket?.writableLength ?? 0),
      closed: new Promise((resolve) => {
        resolveClosed = resolve;
      }),
    };
    this.sessions.push(session);
    ws.on('close', (code) => {
      this.open.delete(ws);
      session.closeCode = code;
      resolveClosed(code);
    });
    ws.on('error', () => undefined);
    const send = (event: Record<string, unknown>) =>
      ws.send(JSON.stringify({ type: event.type, event_id: eventId(), ...event }));
    const sessionObject = { id: `sess_${randomBytes(6).toString('hex')}`, object: 'realtime.session', model };
    send({ type: 'session.created', session: sessionObject });
    let audioBytes = 0;
    ws.on('message', (data: RawData, isBinary: boolean) => {
      session.messages++;
      if (isBinary) {
        if (this.options.echo) ws.send(data, { binary: true });
        return;
      }
      let event: { type?: string; item?: Record<string, unknown>; audio?: string; session?: Record<string, unknown> };
      try {
        event = JSON.parse(data.toString());
      } catch {
        send({ type: 'error', error: { type: 'invalid_request_error', code: 'invalid_json', message: 'not JSON' } });
        return;
      }
      session.events.push(event.type ?? '');
      switch (event.type) {
        case 'session.update':
          send({ type: 'session.updated', session: { ...sessionObject, ...event.session } });
          return;
        case 'conversation.item.create':
          send({
            type: 'conversation.item.created',
            previous_item_id: null,
            item: { id: `item_${randomBytes(6).toString('hex')}`, status: 'completed', ...event.item },
          });
          return;
        case 'input_audio_buffer.append':
          audioBytes += (event.audio ?? '').length;
          return;
        case 'input_audio_buffer.commit': {
          const itemId = `item_${randomBytes(6).toString('hex')}`;
          send({ type: 'input_audio_buffer.committed', previous_item_id: null, item_id: itemId });
          send({
            type: 'conversation.item.input_audio_transcription.completed',
            item_id: itemId,
            content_index: 0,
            transcript: `heard ${audioBytes} bytes`,
          });
          audioBytes = 0;
          return;
        }
        case 'response.create':
          this.respond(ws, send);
          return;
        default:
          if (this.options.echo) {
            ws.send(data, { binary: false });
            return;
          }
          send({
            type: 'error',
            error: {
              type: 'invalid_request_error',
              code: 'unknown_event',
              message: `Unknown event type '${event.type}'`,
            },
          });
      }
    });
  }

  private respond(ws: WebSocket, send: (event: Record<string, unknown>) => void): void {
    const options = this.options;
    const responseId = `resp_${randomBytes(6).toString('hex')}`;
    const itemId = `item_${randomBytes(6).toString('hex')}`;
    send({
      type: 'response.created',
      response: { id: responseId, object: 'realtime.response', status: 'in_progress' },
    });
    if (options.closeAfterCreated !== undefined) {
      ws.close(options.closeAfterCreated, 'mock upstream broke off');
      return;
    }
    const words: string[] = [];
    for (let i = 0; i < options.deltas; i++) {
      const delta = i === 0 ? 'Hello' : ' there';
      words.push(delta);
      send({
        type: 'response.output_audio_transcript.delta',
        response_id: responseId,
        item_id: itemId,
        output_index: 0,
        content_index: 0,
        delta,
      });
      if (options.audioDeltaBytes > 0) {
        send({
          type: 'response.output_audio.delta',
          response_id: responseId,
          item_id: itemId,
          output_index: 0,
          content_index: 0,
          delta: randomBytes(Math.ceil((options.audioDeltaBytes * 3) / 4)).toString('base64'),
        });
      }
    }
    send({
      type: 'response.done',
      response: {
        id: responseId,
        object: 'realtime.response',
        status: 'completed',
        output: [
          {
            id: itemId,
            type: 'message',
            role: 'assistant',
            status: 'completed',
            content: [{ type: 'output_audio', transcript: words.join('') }],
          },
        ],
        usage: options.usage,
      },
    });
  }
}
