import { createHash, timingSafeEqual } from 'node:crypto';
import type { Identity } from './identity.js';

interface ForwardKeyEntry {
  digest: Buffer;
  identity: Identity;
}

/**
 * Forward keys from config, held only as sha256 digests. A presented key is hashed and compared
 * in constant time against the entry its digest names.
 */
export class ForwardKeyTable {
  private readonly byDigest = new Map<string, ForwardKeyEntry>();

  constructor(entries: readonly { key: string; user: string; roles: readonly string[] }[]) {
    for (const entry of entries) {
      const digest = createHash('sha256').update(entry.key).digest();
      this.byDigest.set(digest.toString('hex'), {
        digest,
        identity: { user: entry.user, roles: [...entry.roles], via: 'forward_key' },
      });
    }
  }

  get size(): number {
    return this.byDigest.size;
  }

  lookup(presented: string): Identity | undefined {
    const digest = createHash('sha256').update(presented).digest();
    const entry = this.byDigest.get(digest.toString('hex'));
    if (!entry || !timingSafeEqual(entry.digest, digest)) return undefined;
    return entry.identity;
  }
}
