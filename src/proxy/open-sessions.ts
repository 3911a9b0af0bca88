/** The WebSocket sessions open now: for the live views and metrics, and to close them all on shutdown. */

export interface OpenSession {
  /** The pool key the session holds (undefined on a pass-through route). */
  readonly keyHash: string | undefined;
  /** Ends the session from aifd's side: a close frame to both peers, with this code and reason. */
  close(code: number, reason: string): void;
}

export class OpenSessions {
  private readonly open = new Set<OpenSession>();

  get size(): number {
    return this.open.size;
  }

  add(session: OpenSession): void {
    this.open.add(session);
  }

  delete(session: OpenSession): void {
    this.open.delete(session);
  }

  /** How many sessions hold each key. */
  byKey(): Map<string, number> {
    const counts = new Map<string, number>();
    for (const session of this.open)
      if (session.keyHash) counts.set(session.keyHash, (counts.get(session.keyHash) ?? 0) + 1);
    return counts;
  }

  closeAll(code: number, reason: string): void {
    for (const session of [...this.open]) session.close(code, reason);
  }
}
