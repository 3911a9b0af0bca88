/**
 * Coalescing across processes: the first to miss a cache key claims it and fills it; the others
 * wait for its release and read the entry. On Redis between instances (cluster-fills.ts), in the
 * primary between the workers of `--workers` (cluster/fill-claims.ts).
 */
export interface SharedFills {
  /** Whether this process should fill `key` (true also when nobody can say). */
  claim(key: string): Promise<boolean>;
  /** Frees a claim and wakes whoever waits for the key (filled or not). */
  release(key: string): Promise<void>;
  /** Resolves when `key` is settled elsewhere, or nobody holds it, or `timeoutMs` passed. */
  waitFor(key: string, timeoutMs: number, filled: () => Promise<boolean>): Promise<void>;
  close(): Promise<void>;
}
