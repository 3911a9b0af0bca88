/**
 * Key state that outlives the process: status, counters and last error, in the store. Status
 * changes are written at once; counters are written behind, at most every `flushMs`.
 */
import type Keyv from 'keyv';
import type { Diagnostics } from '../logs/diagnostics.js';
import type { KeyPool, KeyState } from './pool.js';

/** The fields of KeyState worth keeping across restarts. */
const PERSISTED = [
  'status',
  'reason',
  'until',
  'probeAfterCooling',
  'consecutiveFailures',
  'requests',
  'promptTokens',
  'completionTokens',
  'lastError',
  'lastErrorAt',
  'lastUsedAt',
] as const satisfies readonly (keyof KeyState)[];

export type StoredKeyState = Pick<KeyState, (typeof PERSISTED)[number]>;

export function storedFields(state: KeyState): StoredKeyState {
  const out: Record<string, unknown> = {};
  for (const field of PERSISTED) out[field] = state[field];
  return out as StoredKeyState;
}

export class KeyStateStore {
  private readonly dirty = new Set<KeyPool>();
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly kv: Keyv,
    private readonly log: Diagnostics,
    private readonly flushMs = 2000,
  ) {}

  async restore(pool: KeyPool): Promise<void> {
    for (const key of pool.keys) {
      const saved = (await this.kv.get(key.hash)) as StoredKeyState | undefined;
      if (saved) pool.restore(key.hash, saved);
    }
  }

  /** Follows a pool: status changes now, counters soon. */
  track(pool: KeyPool): void {
    pool.on('status', (key: { hash: string }) => void this.write(pool, key.hash));
    pool.on('available', () => {
      this.dirty.add(pool);
      this.timer ??= setTimeout(() => void this.flush(), this.flushMs);
    });
  }

  async write(pool: KeyPool, hash: string): Promise<void> {
    try {
      await this.kv.set(hash, storedFields(pool.state(hash)));
    } catch (err) {
      this.log.warn('could not store key state', { key: hash, error: (err as Error).message });
    }
  }

  async flush(): Promise<void> {
    clearTimeout(this.timer);
    this.timer = undefined;
    const pools = [...this.dirty];
    this.dirty.clear();
    for (const pool of pools) {
      await Promise.all(pool.keys.map((key) => this.write(pool, key.hash)));
    }
  }
}
