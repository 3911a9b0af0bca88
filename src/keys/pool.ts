import type { PoolKeyConfig } from '../config/schema.js';
import { keyHash, } from '../util/hash.js';
import { maskKey } from '../util/redact.js';

/** One upstream key as the pool holds it. `secret` never leaves this process except upstream. */
export interface PoolKey {
  /** Short hash of the secret: the key's name in logs, state and `keys list`. */
  readonly hash: string;
  readonly masked: string;
  readonly secret: string;
  readonly label: string | undefined;
  readonly weight: number;
  readonly models: readonly string[] | undefined;
}

export function toPoolKey(entry: PoolKeyConfig): PoolKey {
  const config = typeof entry === 'string' ? { key: entry, weight: 1 } : entry;
  return {
    hash: keyHash(config.key),
    masked: maskKey(config.key),
    secret: config.key,
    label: 'name' in config ? config.name : undefined,
    weight: config.weight,
    models: 'models' in config ? config.models : undefined,
  };
}

/** The keys of one upstream. */
export class KeyPool {
  readonly keys: readonly PoolKey[];
  private cursor = 0;

  constructor(entries: readonly PoolKeyConfig[]) {
    this.keys = entries.map(toPoolKey);
  }

  get size(): number {
    return this.keys.length;
  }

  /** Round robin over the keys not yet tried for this request. */
  pick(exclude: ReadonlySet<string>): PoolKey | undefined {
    for (let step = 0; step < this.keys.length; step++) {
      const key = this.keys[(this.cursor + step) % this.keys.length]!;
      if (!exclude.has(key.hash)) {
        this.cursor = (this.cursor + step + 1) % this.keys.length;
        return key;
      }
    }
    return undefined;
  }
}
