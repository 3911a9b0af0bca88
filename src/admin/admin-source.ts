/**
 * What the admin listener reads and asks of the gateway. One process: the hub itself
 * (`hubAdminSource`). `--workers`: the primary, which asks every worker and adds their answers up
 * (cluster/cluster-admin-source.ts); a worker answers with the same functions over IPC.
 */
import type { CacheCounters } from '../cache/response-cache.js';
import type { CacheStats } from '../cache/stats.js';
import type { KeyCheckResult } from '../keys/check.js';
import type { KeyView } from '../keys/snapshot.js';
import type { AccessRecord } from '../logs/access-record.js';
import type { Diagnostics } from '../logs/diagnostics.js';
import type { Hub } from '../proxy/hub.js';
import type { ReloadResult } from '../proxy/hub-api.js';
import type { Registry } from 'prom-client';
import { createMetrics } from './metrics.js';
import type { HubConfig } from '../config/schema.js';
import { renderReportHtml } from '../usage/report-html.js';
import { buildReport, reportSource } from '../usage/report-source.js';

export interface UpstreamState {
  name: string;
  route: string;
  baseUrl: string;
  mode: 'pass-through' | 'pool';
  keys: number;
  queueLength: number;
}

interface StoreState {
  kind: string;
  up: boolean;
  since: number | null;
  reason: string | null;
}

export type ProcessState = NodeJS.MemoryUsage & { activeResources: Record<string, number> };

/** The gateway's part of `GET /state` (the live totals are the listener's own). */
export interface GatewayState {
  inFlight: number;
  sessions: number;
  upstreams: UpstreamState[];
  keys: KeyView[];
  cache: CacheCounters | null;
  store: StoreState;
  process: ProcessState;
  /** With `--workers`: each worker's share. */
  workers?: WorkerState[];
}

export interface WorkerState {
  id: number;
  pid: number;
  inFlight: number;
  sessions: number;
  /** Pool keys this worker does not send to now (each worker learns from the store within half a second). */
  keysOut: number;
  rss: number;
  heapUsed: number;
}

/** How near a user is to the nearest of their own limits. */
export type Nearest = { limit: string; share: number } | null;

export interface AdminSource {
  readonly log: Diagnostics;
  /** Called with every access record (the live totals). */
  onRecord(listener: (record: AccessRecord) => void): void;
  gateway(): Promise<GatewayState>;
  /** Undefined without limits. */
  nearest(users: string[]): Promise<Record<string, Nearest> | undefined>;
  metrics(): Promise<{ contentType: string; text: string }>;
  /** Undefined when no upstream has that name. */
  checkKeys(upstream: string | undefined): Promise<KeyCheckResult[] | undefined>;
  /** Undefined without a response cache. */
  readonly cache: { stats(): Promise<CacheStats>; clear(): Promise<void> } | undefined;
  reload(): Promise<ReloadResult>;
  /** The usage report (HTML) of what the daemon recorded from `since` to now, or why there is none. */
  report(since: Date): Promise<{ html: string } | { unavailable: string }>;
}

/** The usage report of what `config` records (its access log, else its SQL sink), as `GET /report` serves it. */
export async function usageReport(config: HubConfig, since: Date): Promise<{ html: string } | { unavailable: string }> {
  const source = reportSource(config, 'auto');
  if (typeof source === 'string') return { unavailable: source };
  return { html: renderReportHtml(await buildReport(config, source, since, new Date())) };
}

/** The hub's own answers, and the metrics registry they read (a worker hands it to prom-client's cluster). */
export function hubAdminSource(hub: Hub): AdminSource & { readonly registry: Registry } {
  const metrics = createMetrics(hub);
  hub.recorder.onRecord((record) => metrics.observe(record));
  return {
    registry: metrics.registry,
    log: hub.log,
    onRecord: (listener) => hub.recorder.onRecord(listener),
    gateway: async () => gatewayState(hub),
    nearest: (users) => nearestLimits(hub, users),
    metrics: async () => ({ contentType: metrics.registry.contentType, text: await metrics.text() }),
    checkKeys: async (upstream) => {
      if (upstream && !hub.upstreams.some((candidate) => candidate.config.name === upstream)) return undefined;
      return hub.checkKeys(upstream);
    },
    cache: hub.cache && {
      stats: () => hub.cache!.stats(),
      clear: () => hub.cache!.clear(),
    },
    reload: () => hub.reloadFromSource(),
    report: (since) => usageReport(hub.config, since),
  };
}

function gatewayState(hub: Hub): GatewayState {
  return {
    inFlight: hub.inFlight(),
    sessions: hub.sessions.size,
    upstreams: hub.upstreams.map((upstream) => ({
      name: upstream.config.name,
      route: upstream.config.route,
      baseUrl: upstream.config.baseUrl,
      mode: upstream.passThrough ? 'pass-through' : 'pool',
      keys: upstream.pool.size,
      queueLength: upstream.queue.length,
    })),
    keys: hub.keyViews(),
    cache: hub.cache ? { ...hub.cache.counters } : null,
    store: storeState(hub),
    process: processState(),
  };
}

async function nearestLimits(hub: Hub, users: string[]): Promise<Record<string, Nearest> | undefined> {
  const limits = hub.limits;
  if (!limits) return undefined;
  const out: Record<string, Nearest> = {};
  for (const user of users) out[user] = (await limits.userShare(user)) ?? null;
  return out;
}

function storeState(hub: Hub): StoreState {
  const outage = hub.storeHealth?.current;
  return {
    kind: hub.config.store.split(':', 1)[0]!,
    up: !outage,
    since: outage?.since ?? null,
    reason: outage?.reason ?? null,
  };
}

/** Memory and the handles that keep the process busy (sockets, timers): what a leak shows in. */
export function processState(): ProcessState {
  const activeResources: Record<string, number> = {};
  for (const kind of process.getActiveResourcesInfo()) activeResources[kind] = (activeResources[kind] ?? 0) + 1;
  return { ...process.memoryUsage(), activeResources };
}
