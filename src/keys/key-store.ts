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

/** What a key served: the counters that several processes add to. */
export type KeyCounts = Pick<KeyState, 'requests' | 'promptTokens' | 'completionTokens'>;

const COUNTED = ['requests', 'promptTokens', 'completionTokens'] as const satisfies readonly (keyof KeyCounts)[];

/**
 * Saves one key: `fields` as this process sees the key, `added` what it served since its last save.
 * A worker of `--workers` saves through the primary, which adds the counts of every worker up.
 */
export type KeyStateWriter = (hash: string, fields: StoredKeyState, added: KeyCounts) => Promise<void>;

/**
 * A key's stored state after one process's save: the counts added to what is stored, the status
 * taken only when it is not older than the stored one, the newest error and use kept.
 */
export function mergeStoredState(
  stored: StoredKeyState | undefined,
  fields: StoredKeyState,
  added: KeyCounts,
): StoredKeyState {
  if (!stored) return fields;
  const newerStatus = (fields.statusAt ?? 0) >= (stored.statusAt ?? 0);
  const newerError = (fields.lastErrorAt ?? 0) >= (stored.lastErrorAt ?? 0);
  return {
    ...(newerStatus ? fields : stored),
    requests: stored.requests + added.requests,
    promptTokens: stored.promptTokens + added.promptTokens,
    completionTokens: stored.completionTokens + added.completionTokens,
    lastError: newerError ? fields.lastError : stored.lastError,
    lastErrorAt: newerError ? fields.lastErrorAt : stored.lastErrorAt,
    lastUsedAt: Math.max(stored.lastUsedAt ?? 0, fields.lastUsedAt ?? 0) || undefined,
  };
}

function countsOf(state: KeyCounts): KeyCounts {
  return { requests: state.requests, promptTokens: state.promptTokens, completionTokens: state.completionTokens };
}

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
  /** Per key, the counts as last saved (or restored): what was served since is the difference. */
  private readonly saved = new Map<string, KeyCounts>();

  constructor(
    private readonly kv: KeyValueSpace,
    private readonly log: Diagnostics,
    private readonly flushMs = 2000,
    /** Without it a save sets the whole state (one process owns the counts). */
    private readonly writer?: KeyStateWriter,
  ) {}

  async restore(pool: KeyPool): Promise<void> {
    for (const key of pool.keys) {
      const saved = (await this.kv.get(key.hash)) as StoredKeyState | undefined;
      if (saved) pool.restore(key.hash, saved);
      this.saved.set(key.hash, countsOf(pool.state(key.hash)));
    }
  }

  /** What `hash` served that is not saved yet. */
  unsaved(pool: KeyPool, hash: string): KeyCounts {
    const now = countsOf(pool.state(hash));
    const saved = this.saved.get(hash);
    if (!saved) return now;
    return {
      requests: now.requests - saved.requests,
      promptTokens: now.promptTokens - saved.promptTokens,
      completionTokens: now.completionTokens - saved.completionTokens,
    };
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
    const state = pool.state(hash);
    try {
      if (!this.writer) await this.kv.set(hash, storedFields(state));
      else {
        const counts = countsOf(state);
        const added = this.unsaved(pool, hash);
        this.saved.set(hash, counts);
        await this.writer(hash, storedFields(state), added).catch((err: Error) => {
          const saved = this.saved.get(hash)!;
          for (const field of COUNTED) saved[field] -= added[field];
          throw err;
        });
      }
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
