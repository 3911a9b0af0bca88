/** Probing pool keys: on asking (`aifd keys check`, the admin API) and every `checkEvery`. */
import { applyCheckResults, checkUpstreamKeys, type KeyCheckResult } from '../keys/check.js';
import type { Diagnostics } from '../logs/diagnostics.js';
import type { UpstreamRuntime } from './upstreams.js';

export class KeyChecks {
  private timers: NodeJS.Timeout[] = [];

  constructor(
    /** The upstreams as they are now (a reload replaces them). */
    private readonly upstreams: () => readonly UpstreamRuntime[],
    private readonly log: Diagnostics,
  ) {}

  /** Probes the keys of one upstream (or all) now and applies the results to the pools. */
  async check(upstreamName?: string): Promise<KeyCheckResult[]> {
    const chosen = this.upstreams().filter(
      (upstream) => upstream.pool.size > 0 && (!upstreamName || upstream.config.name === upstreamName),
    );
    const results = await Promise.all(
      chosen.map(async (upstream) => {
        const checked = await checkUpstreamKeys(upstream.config);
        applyCheckResults(upstream.pool, checked);
        return checked;
      }),
    );
    return results.flat();
  }

  /** (Re)arms the timers for the upstreams as they are now. */
  schedule(): void {
    this.stop();
    for (const upstream of this.upstreams()) {
      if (upstream.pool.size === 0 || upstream.config.checkEvery <= 0) continue;
      const timer = setInterval(() => {
        this.check(upstream.config.name).catch((err: Error) =>
          this.log.warn('scheduled key check failed', { upstream: upstream.config.name, error: err.message }),
        );
      }, upstream.config.checkEvery);
      timer.unref();
      this.timers.push(timer);
    }
  }

  stop(): void {
    for (const timer of this.timers) clearInterval(timer);
    this.timers = [];
  }
}
