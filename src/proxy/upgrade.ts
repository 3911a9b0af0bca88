/**
 * A WebSocket handshake enters the request path like any request: it gets an answer object on its
 * socket, so that a refusal (401, 403, 429) is an ordinary OpenAI-shaped HTTP answer written before
 * any upgrade, and the browser's credential is taken out of its subprotocols before anything reads
 * or forwards them.
 */
import http, { type IncomingHttpHeaders, type IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import type { Dispatch } from './dispatch.js';

/** OpenAI's subprotocol for browsers, which cannot set headers: `openai-insecure-api-key.<key>`. */
const CREDENTIAL_PROTOCOL = 'openai-insecure-api-key.';

export function acceptUpgrade(dispatch: Dispatch, req: IncomingMessage, socket: Duplex, head: Buffer): void {
  socket.on('error', () => undefined);
  credentialFromSubprotocols(req.headers);
  const res = new http.ServerResponse(req);
  res.assignSocket(socket as Socket);
  res.shouldKeepAlive = false;
  // A refusal ends the handshake: once it is written, so is the connection.
  res.once('finish', () => socket.end());
  void dispatch(req, res, { socket, head });
}

/**
 * Moves a browser's credential from `Sec-WebSocket-Protocol` to `Authorization` (where a header
 * credential wins), so authentication reads it as any other and no upstream ever sees it.
 */
export function credentialFromSubprotocols(headers: IncomingHttpHeaders): void {
  const offered = headers['sec-websocket-protocol'];
  if (!offered) return;
  const protocols = offered.split(',').map((protocol) => protocol.trim());
  const entry = protocols.find((protocol) => protocol.startsWith(CREDENTIAL_PROTOCOL));
  if (entry === undefined) return;
  if (!headers.authorization) headers.authorization = `Bearer ${entry.slice(CREDENTIAL_PROTOCOL.length)}`;
  const rest = protocols.filter((protocol) => !protocol.startsWith(CREDENTIAL_PROTOCOL));
  if (rest.length > 0) headers['sec-websocket-protocol'] = rest.join(', ');
  else delete headers['sec-websocket-protocol'];
}
