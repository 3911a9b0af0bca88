/**
 * What a config reload changes, decided without touching the running gateway: which sections
 * only a restart can change, and which upstream runtimes carry over (unchanged ones are kept
 * whole, with their connections, key state and queue; a changed one starts anew but keeps the
 * state of the keys it still has); and the queue that applies reloads one at a time.
 */
import type { HubConfig, UpstreamConfig } from '../config/schema.js';
import { storedFields } from '../keys/key-store.js';
import type { Diagnostics } from '../logs/diagnostics.js';
import type { ReloadResult } from './hub-api.js';
import type { UpstreamRuntime } from './upstreams.js';

/** Sections read once at start: a reload keeps the running values and says so. */
const RESTART_ONLY = [
  'listen',
  'admin',
  'store',
  'storePrefix',
  'logs',
  'alerts',
  'telemetry',
] as const satisfies readonly (keyof HubConfig)[];

export interface ReloadPlan {
  /** The config that will run: the new one, with the restart-only sections as they run now. */
  config: HubConfig;
  /** Restart-only sections the new file changes (not applied). */
  needRestart: string[];
}

/**
 * `countersOnStoreDown`: how the open Redis counters treat an outage; it is fixed when they are
 * opened, so a new `limits.onStoreDown` waits for a restart too.
 */
export function planReload(running: HubConfig, next: HubConfig, countersOnStoreDown?: 'open' | 'closed'): ReloadPlan {
  const needRestart: string[] = RESTART_ONLY.filter((section) => !sameJson(running[section], next[section]));
  const config = { ...next } as Record<string, unknown>;
  for (const section of RESTART_ONLY) config[section] = running[section];
  if (next.limits && countersOnStoreDown && next.limits.onStoreDown !== countersOnStoreDown) {
    config.limits = { ...next.limits, onStoreDown: countersOnStoreDown };
    needRestart.push('limits.onStoreDown');
  }
  return { config: config as HubConfig, needRestart };
}

export interface UpstreamSwap {
  upstreams: UpstreamRuntime[];
  /** Runtimes created by this reload (to be wired: key store, alerts, pacing). */
  created: UpstreamRuntime[];
  /** Runtimes no longer used (closed once no request holds them). */
  retired: UpstreamRuntime[];
}

export function swapUpstreams(
  current: readonly UpstreamRuntime[],
  configs: readonly UpstreamConfig[],
  create: (config: UpstreamConfig) => UpstreamRuntime,
): UpstreamSwap {
  const created: UpstreamRuntime[] = [];
  const upstreams = configs.map((config) => {
    const previous = current.find((runtime) => runtime.config.name === config.name);
    if (previous && sameJson(previous.config, config)) return previous;
    const fresh = create(config);
    if (previous) carryKeyState(previous, fresh);
    created.push(fresh);
    return fresh;
  });
  const retired = current.filter((runtime) => !upstreams.includes(runtime));
  return { upstreams, created, retired };
}

/** Keys the new runtime still has keep their status, cooldown and counters. */
function carryKeyState(from: UpstreamRuntime, to: UpstreamRuntime): void {
  const known = new Set(from.pool.keys.map((key) => key.hash));
  for (const key of to.pool.keys) {
    if (known.has(key.hash)) to.pool.restore(key.hash, storedFields(from.pool.state(key.hash)));
  }
}

function sameJson(a: unknown, b: unknown): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

/** Reloads one at a time, in the order asked: from a config given, or read again from its source. */
export class ReloadQueue {
  private last = Promise.resolve<unknown>(undefined);

  constructor(
    private readonly apply: (next: HubConfig) => Promise<ReloadResult>,
    private readonly load: (() => Promise<HubConfig>) | undefined,
    private readonly log: Diagnostics,
  ) {}

  reload(next: HubConfig): Promise<ReloadResult> {
    return this.serialized(() => this.apply(next));
  }

  reloadFromSource(): Promise<ReloadResult> {
    const load = this.load;
    if (!load) return Promise.resolve({ ok: false, error: 'this gateway was not started from a config file' });
    return this.serialized(async () => {
      let next: HubConfig;
      try {
        next = await load();
      } catch (err) {
        const error = (err as Error).message;
        this.log.error('config reload refused; the running config stays', { error });
        return { ok: false, error };
      }
      return this.apply(next);
    });
  }

  private serialized(work: () => Promise<ReloadResult>): Promise<ReloadResult> {
    const result = this.last.then(work);
    this.last = result.catch(() => undefined);
    return result;
  }
}
