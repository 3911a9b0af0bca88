/**
 * Key views and checks without a running daemon: from the config and the stored state. A check
 * made here is written to the store, so the next daemon start knows a key is revoked (or good).
 */
import type { HubConfig } from '../config/schema.js';
import { silentDiagnostics } from '../logs/diagnostics.js';
import type { Store } from '../store/open-store.js';
import { systemClock } from '../util/clock.js';
import { applyCheckResults, checkUpstreamKeys, type KeyCheckResult } from './check.js';
import { KeyStateStore } from './key-store.js';
import { KeyPool } from './pool.js';
import { poolViews, type KeyView } from './snapshot.js';

async function restoredPools(
  config: HubConfig,
  store: Store,
): Promise<{ name: string; pool: KeyPool; keyStore: KeyStateStore }[]> {
  const keyStore = new KeyStateStore(store.namespace('keys'), silentDiagnostics);
  const pools = [];
  for (const upstream of config.upstreams) {
    if (upstream.keys.length === 0) continue;
    const pool = new KeyPool(upstream.keys, systemClock);
    await keyStore.restore(pool);
    pools.push({ name: upstream.name, pool, keyStore });
  }
  return pools;
}

export async function storedKeyViews(config: HubConfig, store: Store): Promise<KeyView[]> {
  const pools = await restoredPools(config, store);
  return pools.flatMap(({ name, pool }) => poolViews(name, pool, Date.now()));
}

export async function checkAndStore(
  config: HubConfig,
  store: Store,
  upstreamName: string | undefined,
): Promise<KeyCheckResult[]> {
  const pools = (await restoredPools(config, store)).filter(({ name }) => !upstreamName || name === upstreamName);
  const results: KeyCheckResult[] = [];
  for (const { name, pool, keyStore } of pools) {
    const upstream = config.upstreams.find((candidate) => candidate.name === name)!;
    const checked = await checkUpstreamKeys(upstream);
    applyCheckResults(pool, checked);
    await Promise.all(pool.keys.map((key) => keyStore.write(pool, key.hash)));
    results.push(...checked);
  }
  return results;
}
