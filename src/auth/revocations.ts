/**
 * Revoked tokens, kept in the store so that `aifd token-revoke` (another process) reaches the
 * running daemon: one entry per revoked jti or user, and a `version` entry the daemon polls
 * (one small read every half second) to know when to reread them.
 */
import type { KeyValueSpace } from '../store/key-value.js';
import { randomUUID } from 'node:crypto';
import { EventEmitter } from 'node:events';
import type { Identity } from './identity.js';

interface RevocationEntry {
  /** Epoch seconds when it was revoked. */
  at: number;
}

/** Emits 'updated' after it reread changed revocations. */
export class Revocations extends EventEmitter {
  private jtis = new Set<string>();
  private users = new Map<string, number>();
  private version: string | undefined;
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly kv: KeyValueSpace) {
    super();
  }

  /** Whether a verified identity's token has been revoked. */
  isRevoked(identity: Identity): boolean {
    if (identity.jti && this.jtis.has(identity.jti)) return true;
    const userRevokedAt = this.users.get(identity.user);
    return userRevokedAt !== undefined && (identity.iat ?? 0) <= userRevokedAt;
  }

  async revokeToken(jti: string, expiresAtSec?: number): Promise<void> {
    const ttlMs = expiresAtSec ? Math.max(1000, expiresAtSec * 1000 - Date.now() + 60_000) : undefined;
    await this.kv.set(`jti:${jti}`, { at: nowSec() } satisfies RevocationEntry, ttlMs);
    await this.bump();
  }

  /** Revokes every token of `user` issued up to now. */
  async revokeUser(user: string): Promise<void> {
    await this.kv.set(`user:${user}`, { at: nowSec() } satisfies RevocationEntry);
    await this.bump();
  }

  /** Rereads the revocations when their version changed. */
  async refresh(): Promise<void> {
    const version = (await this.kv.get('version')) as string | undefined;
    // A version that cannot be read (the store is away) never clears what is known.
    if (version === this.version || version === undefined) return;
    const jtis = new Set<string>();
    const users = new Map<string, number>();
    for await (const [key, value] of this.kv.entries()) {
      const name = String(key);
      if (name.startsWith('jti:')) jtis.add(name.slice(4));
      else if (name.startsWith('user:')) users.set(name.slice(5), (value as RevocationEntry).at);
    }
    // A read cut short by an outage (or a revocation meanwhile) is not taken: next time reads again.
    if ((await this.kv.get('version')) !== version) return;
    this.jtis = jtis;
    this.users = users;
    this.version = version;
    this.emit('updated');
  }

  /** Reads the revocations, then keeps the in-memory view within `everyMs` of the store; once. */
  async follow(everyMs: number, onError: (err: Error) => void): Promise<void> {
    if (this.timer) return;
    this.timer = setInterval(() => this.refresh().catch(onError), everyMs);
    this.timer.unref();
    await this.refresh();
  }

  stop(): void {
    clearInterval(this.timer);
  }

  private async bump(): Promise<void> {
    await this.kv.set('version', randomUUID());
  }
}

function nowSec(): number {
  return Math.floor(Date.now() / 1000);
}
