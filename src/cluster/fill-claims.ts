/**
 * Cache claims held by the primary for its workers: the first worker to miss a key claims it, the
 * others wait until it is released (or the claim runs out, or their wait does). One event loop
 * decides, so no two workers fill the same key and no wake-up is lost.
 */

/** How long a claim holds (a worker that hangs frees it by then). */
const CLAIM_MS = 120_000;

interface Claim {
  owner: number;
  timer: NodeJS.Timeout;
}

export class FillClaims {
  private readonly claims = new Map<string, Claim>();
  private readonly waiters = new Map<string, Set<() => void>>();

  /** Whether `owner` may fill `key` now. */
  claim(key: string, owner: number): boolean {
    if (this.claims.has(key)) return false;
    const timer = setTimeout(() => this.release(key), CLAIM_MS);
    timer.unref();
    this.claims.set(key, { owner, timer });
    return true;
  }

  release(key: string): void {
    const claim = this.claims.get(key);
    if (!claim) return;
    clearTimeout(claim.timer);
    this.claims.delete(key);
    for (const wake of this.waiters.get(key) ?? []) wake();
    this.waiters.delete(key);
  }

  /** Frees what a worker that exited held. */
  releaseAll(owner: number): void {
    for (const [key, claim] of [...this.claims]) if (claim.owner === owner) this.release(key);
  }

  /** Resolves once `key` is released (at once when nobody holds it), or after `timeoutMs`. */
  wait(key: string, timeoutMs: number): Promise<void> {
    if (!this.claims.has(key)) return Promise.resolve();
    return new Promise((resolve) => {
      const set = this.waiters.get(key) ?? new Set();
      const wake = () => {
        clearTimeout(timer);
        set.delete(wake);
        if (set.size === 0 && this.waiters.get(key) === set) this.waiters.delete(key);
        resolve();
      };
      const timer = setTimeout(wake, timeoutMs);
      timer.unref();
      set.add(wake);
      this.waiters.set(key, set);
    });
  }

  get size(): number {
    return this.claims.size;
  }
}
