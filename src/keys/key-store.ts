/**
 * Key state that outlives the process: status, counters and last error, in the store. Status
 * changes are written at once (with a new `version`); counters are written behind, at most every
 * `flushMs`. Instances sharing the store follow each other's status changes by polling `version`.
 */
import type { KeyValueSpace } from '../store/key-value.js';
import { randomUUID } from 'node:crypto';
import type { Diagnostics } from '../logs/diagnostics.js';
import type { KeyPool, KeyState } from './pool.js';

/** The fields of KeyState worth keeping across restarts. */
const PERSISTED = [
  'status',
  'statusAt',
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
  private followTimer: NodeJS.Timeout | undefined;
  private seenVersion: string | undefined;

  constructor(
    private readonly kv: KeyValueSpace,
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
    pool.on('status', (key: { hash: string }, _state: unknown, origin?: string) => {
      if (origin !== 'remote') void this.write(pool, key.hash).then(() => this.bump());
    });
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

  /** Applies other instances' status changes to `pools` within `everyMs` (one small read each time). */
  follow(pools: () => readonly KeyPool[], everyMs: number): void {
    this.followTimer = setInterval(() => void this.pull(pools()).catch(() => undefined), everyMs);
    this.followTimer.unref();
  }

  stop(): void {
    clearInterval(this.followTimer);
  }

  /** Reads every key's stored state when the version moved, and adopts newer statuses. */
  async pull(pools: readonly KeyPool[]): Promise<void> {
    const version = (await this.kv.get('version')) as string | undefined;
    if (version === undefined || version === this.seenVersion) return;
    this.seenVersion = version;
    for (const pool of pools) {
      for (const key of pool.keys) {
        const saved = (await this.kv.get(key.hash)) as StoredKeyState | undefined;
        if (saved && typeof saved.statusAt === 'number') pool.adopt(key.hash, saved);
      }
    }
  }

  private async bump(): Promise<void> {
    // Not remembered as seen: another instance may have moved the version just before.
    await this.kv.set('version', randomUUID()).catch(() => undefined);
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
