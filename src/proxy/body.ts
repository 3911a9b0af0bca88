import type { IncomingMessage } from 'node:http';
import { AifdError } from '../errors.js';

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
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) {
        cleanup();
        req.resume();
        reject(tooLarge(limit));
        return;
      }
      chunks.push(chunk);
    };
    const onEnd = () => {
      cleanup();
      resolve(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size));
    };
    const onError = (err: Error) => {
      cleanup();
      reject(new AifdError('invalid_request', 'the request body could not be read', { cause: err }));
    };
    const onAborted = () => onError(new Error('client aborted'));
    const cleanup = () => {
      req.off('data', onData);
      req.off('end', onEnd);
      req.off('error', onError);
      req.off('aborted', onAborted);
    };
    req.on('data', onData);
    req.on('end', onEnd);
    req.on('error', onError);
    req.on('aborted', onAborted);
  });
}

function tooLarge(limit: number): AifdError {
  return new AifdError('request_too_large', `the request body is larger than the limit of ${limit} bytes`);
}
