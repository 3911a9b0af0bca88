/**
 * The admin listener of `--workers`, served by the primary: every worker is asked and the answers
 * are added up (requests in flight, queues, key counters), metrics through prom-client's cluster
 * aggregation, the live totals from the records every worker sends here.
 */
import { AggregatorRegistry } from 'prom-client';
import {
  usageReport,
  processState,
  type AdminSource,
  type GatewayState,
  type UpstreamState,
  type WorkerState,
} from '../admin/admin-source.js';
import { cacheStats } from '../cache/stats.js';
import { poolKeyName, type KeyView } from '../keys/snapshot.js';
import type { Store } from '../store/open-store.js';
import type { HubConfig } from '../config/schema.js';
import type { PrimaryServices, WorkerLink } from './primary-services.js';

export interface WorkerHandle {
  id: number;
  pid: number;
  link: WorkerLink;
}

export function clusterAdminSource(
  services: PrimaryServices,
  store: Store,
  workers: () => readonly WorkerHandle[],
  config: HubConfig,
): AdminSource {
  const aggregator = new AggregatorRegistry();
  const first = () => {
    const worker = workers()[0];
    if (!worker) throw new Error('no worker is running');
    return worker.link;
  };
  return {
    log: services.log,
    onRecord: (listener) => services.records.onRecord(listener),
    async gateway() {
      const running = workers();
      const states = await Promise.all(running.map((worker) => worker.link.call('gateway', undefined)));
      const merged = mergeGateways(states.map((state, i) => ({ state, id: running[i]!.id, pid: running[i]!.pid })));
      // The workers answer with what is not saved yet; the store holds the rest of every key's counts.
      const stored = await services.keyStates.counts(merged.keys.map((key) => key.hash));
      for (const key of merged.keys) {
        const counts = stored.get(key.hash);
        if (!counts) continue;
        key.requests += counts.requests;
        key.promptTokens += counts.promptTokens;
        key.completionTokens += counts.completionTokens;
      }
      return merged;
    },
    nearest: (users) => first().call('nearest', { users }),
    metrics: async () => ({ contentType: aggregator.contentType, text: await aggregator.clusterMetrics() }),
    checkKeys: (upstream) => first().call('checkKeys', { upstream }),
    cache: {
      stats: () => cacheStats(store.namespace('cache'), Date.now()),
      clear: () => store.namespace('cache').clear(),
    },
    async reload() {
      const results = await Promise.all(workers().map((worker) => worker.link.call('reload', undefined)));
      return results.find((result) => !result.ok) ?? results[0] ?? { ok: false, error: 'no worker is running' };
    },
    // The primary writes the one access log and feeds the sink: the report is read here.
    report: (since) => usageReport(config, since),
  };
}

/** One gateway out of its workers' states. */
function mergeGateways(states: { state: GatewayState; id: number; pid: number }[]): GatewayState {
  const upstreams = new Map<string, UpstreamState>();
  const keys = new Map<string, KeyView>();
  const workers: WorkerState[] = [];
  let cache: GatewayState['cache'] = null;
  let store: GatewayState['store'] | undefined;
  for (const { state, id, pid } of states) {
    for (const upstream of state.upstreams) {
      const seen = upstreams.get(upstream.name);
      if (seen) seen.queueLength += upstream.queueLength;
      else upstreams.set(upstream.name, { ...upstream });
    }
    for (const key of state.keys) {
      const name = poolKeyName(key.upstream, key.hash);
      const seen = keys.get(name);
      keys.set(name, seen ? mergeKey(seen, key) : { ...key });
    }
    if (state.cache) {
      cache ??= { hits: 0, misses: 0, bypasses: 0, stored: 0 };
      for (const field of ['hits', 'misses', 'bypasses', 'stored'] as const) cache[field] += state.cache[field];
    }
    if (!store || (store.up && !state.store.up)) store = state.store;
    workers.push({
      id,
      pid,
      inFlight: state.inFlight,
      sessions: state.sessions,
      keysOut: state.keys.filter((key) => key.status !== 'ok').length,
      rss: state.process.rss,
      heapUsed: state.process.heapUsed,
    });
  }
  return {
    inFlight: workers.reduce((sum, worker) => sum + worker.inFlight, 0),
    sessions: workers.reduce((sum, worker) => sum + worker.sessions, 0),
    upstreams: [...upstreams.values()],
    keys: [...keys.values()],
    cache,
    store: store ?? { kind: 'none', up: true, since: null, reason: null },
    process: processState(),
    workers,
  };
}

/**
 * One key as the workers see it: what they did with it added up, and the status of the worker
 * that saw it fail (statuses reach the others through the store within half a second).
 */
function mergeKey(a: KeyView, b: KeyView): KeyView {
  const failing = a.status !== 'ok' ? a : b;
  return {
    ...failing,
    inFlight: a.inFlight + b.inFlight,
    sessions: a.sessions + b.sessions,
    requests: a.requests + b.requests,
    promptTokens: a.promptTokens + b.promptTokens,
    completionTokens: a.completionTokens + b.completionTokens,
    requestsPerMinute: Math.round((a.requestsPerMinute + b.requestsPerMinute) * 10) / 10,
    lastError: latest(a.lastErrorAt, b.lastErrorAt) === a.lastErrorAt ? a.lastError : b.lastError,
    lastErrorAt: latest(a.lastErrorAt, b.lastErrorAt),
    lastUsedAt: latest(a.lastUsedAt, b.lastUsedAt),
  };
}

function latest(a: string | null, b: string | null): string | null {
  if (a === null) return b;
  if (b === null) return a;
  return a > b ? a : b;
}
