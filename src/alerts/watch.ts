/** The incidents that become alerts: key trouble in a pool, and store outages (also logged). */
import type { HubConfig } from '../config/schema.js';
import type { KeyPool, KeyState, PoolKey } from '../keys/pool.js';
import type { Diagnostics } from '../logs/diagnostics.js';
import type { Store } from '../store/open-store.js';
import type { StoreOutage } from '../store/store-health.js';
import type { Alerts } from './alerts.js';

/** A budget past its soft share becomes an alert. */
export function budgetAlerts(alerts: Alerts): (budget: string, counter: string, share: number) => void {
  return (budget, counter, share) =>
    alerts.notify({
      id: `budget:${counter}`,
      event: 'budget_soft_limit',
      message: `the ${budget} is ${Math.round(share * 100)}% spent`,
      details: { budget, spent: share },
    });
}

/** Key incidents become alerts: revoked, over quota, or failing again and again (the upstream). */
export function watchKeys(name: string, pool: KeyPool, alerts: Alerts): void {
  pool.on('status', (key: PoolKey, state: KeyState) => {
    if (state.status === 'revoked')
      alerts.notify({
        id: `revoked:${key.hash}`,
        event: 'key_revoked',
        message: `key ${key.masked} (${key.hash}) of upstream "${name}" was refused by the upstream (401) and left the pool`,
        details: { upstream: name, key: key.hash },
      });
    if (state.status === 'over_quota')
      alerts.notify({
        id: `over_quota:${key.hash}`,
        event: 'key_over_quota',
        message: `key ${key.masked} (${key.hash}) of upstream "${name}" is out of quota`,
        details: { upstream: name, key: key.hash },
      });
    if (state.status === 'cooling' && state.consecutiveFailures >= 3)
      alerts.notify({
        id: `failing:${name}`,
        event: 'upstream_failing',
        message: `upstream "${name}" keeps failing: ${state.reason ?? 'errors'}`,
        details: { upstream: name, key: key.hash, failures: state.consecutiveFailures },
      });
  });
}

/** A store outage is logged (and alerted) once when it starts and once when it ends. */
export function reportStoreOutages(
  store: Store,
  currentConfig: () => HubConfig,
  log: Diagnostics,
  alerts: Alerts | undefined,
): void {
  store.health.on('down', (outage: StoreOutage) => {
    const limits = currentConfig().limits;
    const effect = !limits
      ? ''
      : limits.onStoreDown === 'open'
        ? '; limits count in this instance only until it is back'
        : '; requests that limits count are refused until it is back';
    log.error(`the store (${store.location}) cannot be reached${effect}`, { reason: outage.reason });
    alerts?.notify({
      id: 'store_down',
      event: 'store_down',
      message: `the store ${store.location} cannot be reached: ${outage.reason}`,
      details: { store: store.location },
    });
  });
  store.health.on('up', (outage: StoreOutage) => {
    log.info(`the store (${store.location}) is reachable again`, { downForMs: Date.now() - outage.since });
  });
}
