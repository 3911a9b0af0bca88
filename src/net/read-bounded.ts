/**
 * The one reader of whole HTTP bodies (a client's request, an upstream's error or JSON answer, a
 * key check's model list): bounded, so that no body makes aifd hold more than its limit.
 */
import type { IncomingMessage } from 'node:http';

export type BoundedRead = { kind: 'whole'; body: Buffer } | { kind: 'too_large' } | { kind: 'broken'; error: Error };

/**
 * Reads `message` to its end. Past `limit` bytes it stops holding them: `drain` reads the rest
 * away (the connection stays usable), `destroy` closes it.
 */
export function readBounded(
  message: IncomingMessage,
  limit: number,
  pastLimit: 'drain' | 'destroy',
): Promise<BoundedRead> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const finish = (result: BoundedRead) => {
      message.off('data', onData);
      message.off('end', onEnd);
      message.off('error', onError);
      message.off('close', onClose);
      resolve(result);
    };
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size <= limit) {
        chunks.push(chunk);
        return;
      }
      finish({ kind: 'too_large' });
      if (pastLimit === 'destroy') message.destroy();
      else message.resume();
    };
    const onEnd = () => finish({ kind: 'whole', body: chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size) });
    const onError = (error: Error) => finish({ kind: 'broken', error });
    const onClose = () => {
      if (!message.complete)
        finish({ kind: 'broken', error: new Error('the connection closed before the body ended') });
    };
    message.on('data', onData);
    message.on('end', onEnd);
    message.on('error', onError);
    message.on('close', onClose);
  });
}
