/** What the running gateway offers the CLI, the admin side and the tests (hub.ts makes it). */
import type http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Alerts } from '../alerts/alerts.js';
import type { Authenticator } from '../auth/authenticate.js';
import type { NetworkPolicy } from '../auth/network.js';
import type { ResponseCache } from '../cache/response-cache.js';
import type { Limits } from '../limits/limits.js';
import type { Revocations } from '../auth/revocations.js';
import type { HubConfig } from '../config/schema.js';
import type { KeyCheckResult } from '../keys/check.js';
import type { KeyView } from '../keys/snapshot.js';
import type { KeyCounts, KeyStateWriter } from '../keys/key-store.js';
import type { Diagnostics } from '../logs/diagnostics.js';
import type { SqlSink } from '../logs/sinks/sql-sink.js';
import type { Store } from '../store/open-store.js';
import type { StoreHealth } from '../store/store-health.js';
import type { Telemetry } from '../telemetry/telemetry.js';
import type { Clock } from '../util/clock.js';
import type { Forwarder } from './forward.js';
import type { ModelRouter } from './model-routing.js';
import type { Recorder, RecordOutlet } from './recorder.js';
import type { Counters } from '../limits/counters.js';
import type { SharedFills } from '../cache/shared-fills.js';
import type { RouteTable } from './routes.js';
import type { StageDeps } from './stage-deps.js';
import type { UpstreamRuntime } from './upstreams.js';
import type { OpenSessions } from './open-sessions.js';

/**
 * The running gateway. `config`, `routes`, `router`, `upstreams`, `network`, `authenticator` and
 * `limits` are replaced as a whole by a reload: a request reads them as it goes, so one that
 * started before a reload finishes with what it already holds.
 */
export interface Hub extends StageDeps {
  config: HubConfig;
  routes: RouteTable;
  router: ModelRouter;
  upstreams: readonly UpstreamRuntime[];
  readonly forwarder: Forwarder;
  readonly log: Diagnostics;
  readonly server: http.Server;
  readonly clock: Clock;
  network: NetworkPolicy;
  /** Set once `listen()` has read the key material; undefined without an auth section. */
  authenticator: Authenticator | undefined;
  readonly revocations: Revocations | undefined;
  readonly recorder: Recorder;
  /** Webhook alerts, when configured. */
  readonly alerts: Alerts | undefined;
  /** The SQL sink for request records, once `listen()` opened it. */
  sink: SqlSink | undefined;
  /** Limits and budgets, once `listen()` opened their counters; undefined without `limits`. */
  limits: Limits | undefined;
  /** Whether the shared store can be reached; undefined without a store. */
  readonly storeHealth: StoreHealth | undefined;
  /** The response cache; undefined without a store. */
  readonly cache: ResponseCache | undefined;
  /** OpenTelemetry export, once `listen()` started it; undefined unless telemetry.otlp is set. */
  telemetry: Telemetry | undefined;
  /** Requests accepted and not yet answered in full. */
  inFlight(): number;
  isShuttingDown(): boolean;
  listen(): Promise<AddressInfo>;
  /** Stops accepting, lets in-flight requests finish within `graceMs`, then cuts the rest. */
  close(graceMs?: number): Promise<void>;
  /** Probes the keys of one upstream (or all) now and applies the results to the pools. */
  checkKeys(upstreamName?: string): Promise<KeyCheckResult[]>;
  /** The WebSocket sessions open now. */
  readonly sessions: OpenSessions;
  /** Every pool key as people read it. */
  keyViews(): KeyView[];
  /** Per pool key (`upstream/hash`), what it served that is not in the store yet (empty without a store). */
  unsavedKeyCounts(): Map<string, KeyCounts>;
  /**
   * Applies a new config without dropping anything in flight: keys, users, ACL, limits, aliases and
   * upstreams change; restart-only sections (listen, admin, store, logs, alerts) keep running.
   */
  reload(next: HubConfig): Promise<ReloadResult>;
  /** Reads the config again from where it came from (the file) and reloads it; a bad one is refused. */
  reloadFromSource(): Promise<ReloadResult>;
}

export type ReloadResult = { ok: true; needRestart: string[] } | { ok: false; error: string };

export interface HubOptions {
  log: Diagnostics;
  /** Where key state survives restarts; without it state lives only in memory. */
  store?: Store;
  clock?: Clock;
  /** Where a reload reads the config (the file and CLI overrides); without it only reload(config) works. */
  loadConfig?: () => Promise<HubConfig>;
  /** A worker of `--workers`: what the primary holds for all of them. */
  shared?: SharedServices;
}

/** Held by the primary of `--workers` for every worker (each is left out with a Redis store). */
interface SharedServices {
  /** Limits count here, so that they hold across workers. */
  counters?: Counters;
  /** Cache coalescing across workers. */
  fills?: SharedFills;
  /** Records go here (the primary writes the logs and feeds the SQL sink); no sink is opened. */
  records?: RecordOutlet;
  /** Key state is saved through here, so that the workers' counts add up in the store. */
  keyWriter?: KeyStateWriter;
}
