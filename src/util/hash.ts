import { createHash } from 'node:crypto';

export function sha256Hex(text: string | Buffer): string {
  return createHash('sha256').update(text).digest('hex');
}

/**
 * A short, stable, non-reversible name for a secret (an upstream key, a forward key), used in
 * logs, state and `keys list` so that operators can tell keys apart without ever seeing one.
 */
export function keyHash(secret: string): string {
  return sha256Hex(secret).slice(0, 12);
}
