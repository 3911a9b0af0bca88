/**
 * The gateway's server, and what happens on a socket before (or instead of) a request: malformed HTTP answered OpenAI-shaped,
 * connections that never send a byte closed, CONNECT refused.
 */
import http from 'node:http';
import https from 'node:https';
import type { HubConfig } from '../config/schema.js';
import type { IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { AifdError, openAIErrorBody } from '../errors.js';

/**
 * The gateway's HTTP server (HTTPS with `listen.tls`: its certificate is set before it listens), its
 * timeouts and guards in place; requests are answered elsewhere.
 */
export function createServer(
  listen: Pick<HubConfig['listen'], 'headersTimeout' | 'requestTimeout' | 'tls'>,
): http.Server | https.Server {
  const { headersTimeout, requestTimeout } = listen;
  const options = {
    keepAliveTimeout: 65_000,
    headersTimeout,
    requestTimeout,
    // Node enforces both timeouts on this schedule; checking more often makes them hold to the second.
    connectionsCheckingInterval: Math.max(250, Math.min(30_000, headersTimeout / 4, requestTimeout / 4)),
  };
  const server = listen.tls ? https.createServer(options) : http.createServer(options);
  // Over TLS a request's socket is the TLS one: its silence is timed from the end of the handshake.
  reapSilentConnections(server, headersTimeout, listen.tls ? 'secureConnection' : 'connection');
  server.on('clientError', answerClientError);
  server.on('connect', refuseConnect);
  return server;
}

/** Malformed HTTP never reaches a stage: answer it here, OpenAI-shaped, and close. */
function answerClientError(err: NodeJS.ErrnoException, socket: Socket): void {
  if (!socket.writable || err.code === 'ECONNRESET') {
    socket.destroy();
    return;
  }
  const [status, reason, message] = clientErrorAnswer(err.code);
  answerOnSocket(socket, status, reason, message);
}

const firstRequestTimer = Symbol('first request timer');

/**
 * Node times out headers only once a request has begun; a connection that never sends a byte
 * would stay open for good. It gets `headersTimeout` to start its first request (one timer per
 * connection, not per request: keep-alive connections are then kept by keepAliveTimeout).
 */
function reapSilentConnections(
  server: http.Server,
  headersTimeout: number,
  opened: 'connection' | 'secureConnection',
): void {
  server.on(opened, (socket: Socket & { [firstRequestTimer]?: NodeJS.Timeout }) => {
    const timer = setTimeout(() => socket.destroy(), headersTimeout);
    timer.unref();
    socket[firstRequestTimer] = timer;
    socket.once('close', () => clearTimeout(timer));
  });
  const started = (req: IncomingMessage) => {
    const socket = req.socket as Socket & { [firstRequestTimer]?: NodeJS.Timeout };
    const timer = socket[firstRequestTimer];
    if (timer) {
      clearTimeout(timer);
      socket[firstRequestTimer] = undefined;
    }
  };
  server.on('request', started);
  server.on('upgrade', started);
}

/** aifd is no tunnel: CONNECT gets a 405 and the connection ends. */
function refuseConnect(_req: IncomingMessage, socket: Duplex): void {
  answerOnSocket(socket, 405, 'Method Not Allowed', 'CONNECT is not supported: aifd forwards API requests only');
}

/** An OpenAI-shaped error written straight to a socket that no request handler owns, then closed. */
function answerOnSocket(socket: Duplex, status: number, reason: string, message: string): void {
  const body = openAIErrorBody(new AifdError('invalid_request', message));
  const head = `HTTP/1.1 ${status} ${reason}\r\ncontent-type: application/json; charset=utf-8\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n`;
  // Destroyed once the answer is out: a client still sending (a slowloris) must not keep the socket.
  socket.end(head + body, () => socket.destroy());
}

function clientErrorAnswer(code: string | undefined): [number, string, string] {
  if (code === 'HPE_HEADER_OVERFLOW')
    return [431, 'Request Header Fields Too Large', 'the request headers are too large'];
  if (code === 'ERR_HTTP_REQUEST_TIMEOUT') return [408, 'Request Timeout', 'the request was not sent in time'];
  return [400, 'Bad Request', 'the request is not valid HTTP'];
}
