import type { IncomingMessage } from 'node:http';
import { AifdError } from '../errors.js';
import { readBounded } from '../net/read-bounded.js';

const EMPTY = Buffer.alloc(0);

/**
 * Reads the whole request body, refusing it past `limit` bytes. The body is kept so that a failed
 * attempt can be replayed on another key; the limit bounds what one request can hold.
 */
export function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  const declared = req.headers['content-length'];
  if (declared !== undefined && Number(declared) > limit) {
    return Promise.reject(tooLarge(limit));
  }
  if (declared === '0' || (declared === undefined && !req.headers['transfer-encoding'])) {
    return Promise.resolve(EMPTY);
  }
  return readBounded(req, limit, 'drain').then((read) => {
    if (read.kind === 'whole') return read.body;
    if (read.kind === 'too_large') throw tooLarge(limit);
    throw new AifdError('invalid_request', 'the request body could not be read', { cause: read.error });
  });
}

function tooLarge(limit: number): AifdError {
  return new AifdError('request_too_large', `the request body is larger than the limit of ${limit} bytes`);
}
