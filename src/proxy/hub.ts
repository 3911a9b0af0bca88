/**
 * The running gateway: the public HTTP listener, its stages, and graceful shutdown.
 * createHub → { listen, close }; nothing here parses argv or prints banners.
 */
import type { StageDeps } from './stage-deps.js';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { HubConfig } from '../config/schema.js';
import type { Diagnostics } from '../logs/diagnostics.js';
import { ActiveRequests } from './active-requests.js';
import type { RequestContext } from './context.js';
import { createForwarder, type Forwarder } from './forward.js';
import { RouteTable } from './routes.js';
import { ModelRouter } from './model-routing.js';
import { planReload, swapUpstreams } from './reload.js';
import { createDispatch } from './dispatch.js';
import { createRecorder, type Recorder } from './recorder.js';
import { createJsonLinesFile } from '../logs/json-lines-file.js';
import { openDialect, sinkUrl } from '../logs/sinks/open-dialect.js';
import { SqlSink } from '../logs/sinks/sql-sink.js';
import { openCounters, type Counters } from '../limits/counters.js';
import { Limits } from '../limits/limits.js';
import { ResponseCache } from '../cache/response-cache.js';
import { ClusterFills } from '../cache/cluster-fills.js';
import { createAlerts, type Alerts } from '../alerts/alerts.js';
import { reportStoreOutages, watchKeys } from '../alerts/watch.js';
import { counterBackend } from '../limits/counter-backend.js';
import { guardSockets } from './socket-guards.js';
import { Pacer } from '../limits/pacer.js';
import { parseRateString } from '../config/rate-string.js';
import { priceTable } from '../usage/prices.js';
import { createAuthenticator, type Authenticator } from '../auth/authenticate.js';
import { NetworkPolicy } from '../auth/network.js';
import { Revocations } from '../auth/revocations.js';
import { createUpstreamRuntime, destroyUpstreamRuntime, type UpstreamRuntime } from './upstreams.js';
import { KeyStateStore } from '../keys/key-store.js';
import { applyCheckResults, checkUpstreamKeys, type KeyCheckResult } from '../keys/check.js';
import { poolViews, type KeyView } from '../keys/snapshot.js';
import type { Store } from '../store/open-store.js';
import type { StoreHealth } from '../store/store-health.js';
import { systemClock, type Clock } from '../util/clock.js';

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
  /** Requests accepted and not yet answered in full. */
  inFlight(): number;
  isShuttingDown(): boolean;
  listen(): Promise<AddressInfo>;
  /** Stops accepting, lets in-flight requests finish within `graceMs`, then cuts the rest. */
  close(graceMs?: number): Promise<void>;
  /** Probes the keys of one upstream (or all) now and applies the results to the pools. */
  checkKeys(upstreamName?: string): Promise<KeyCheckResult[]>;
  /** Every pool key as people read it. */
  keyViews(): KeyView[];
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
}

export function createHub(initialConfig: HubConfig, options: HubOptions): Hub {
  let config = initialConfig;
  const clock = options.clock ?? systemClock;
  let upstreams = config.upstreams.map((upstream) => createUpstreamRuntime(upstream, clock));
  const keyStore = options.store ? new KeyStateStore(options.store.namespace('keys'), options.log) : undefined;
  const revocations = options.store ? new Revocations(options.store.namespace('revocations')) : undefined;
  const forwarder = createForwarder();
  const recorder = createRecorder(config, options.log);
  let wantsAnswer = readsAnswers(config);
  /** Upstream runtimes a reload replaced, closed once no request holds them. */
  const retired = new Set<UpstreamRuntime>();
  let closeFallback: (() => Promise<void>) | undefined;
  const log = options.log;
  const active = new ActiveRequests<RequestContext>();
  let shuttingDown = false;
  let drained: (() => void) | undefined;

  const { headersTimeout, requestTimeout } = config.listen;
  const server = http.createServer({
    keepAliveTimeout: 65_000,
    headersTimeout,
    requestTimeout,
    // Node enforces both timeouts on this schedule; checking more often makes them hold to the second.
    connectionsCheckingInterval: Math.max(250, Math.min(30_000, headersTimeout / 4, requestTimeout / 4)),
  });
  guardSockets(server, headersTimeout);

  const alerts = config.alerts ? createAlerts(config.alerts, clock, log) : undefined;
  if (options.store) reportStoreOutages(options.store, () => config, log, alerts);

  const hub: Hub = {
    config,
    routes: new RouteTable(upstreams),
    router: new ModelRouter(upstreams, config.aliases),
    upstreams,
    forwarder,
    log,
    server,
    clock,
    network: new NetworkPolicy(config.auth),
    authenticator: undefined,
    revocations,
    recorder,
    alerts,
    sink: undefined,
    limits: undefined,
    storeHealth: options.store?.health,
    cache: options.store
      ? new ResponseCache(options.store.namespace('cache'), clock, {
          ttlMs: config.cache.ttl,
          maxEntryBytes: config.cache.maxEntrySize,
        })
      : undefined,
    inFlight: () => active.size,
    isShuttingDown: () => shuttingDown,
    listen,
    close,
    checkKeys,
    keyViews: () => upstreams.flatMap((upstream) => poolViews(upstream.config.name, upstream.pool, clock.now())),
    reload,
    reloadFromSource,
  };
  const handle = createDispatch({
    hub,
    active,
    isShuttingDown: () => shuttingDown,
    wantsAnswer: () => wantsAnswer,
    onFinished: () => {
      if (retired.size > 0) closeRetired();
      if (active.size === 0) drained?.();
    },
  });
  server.on('request', (req, res) => void handle(req, res));
  let checkTimers: NodeJS.Timeout[] = [];
  let reloading = Promise.resolve<unknown>(undefined);

  function reloadFromSource(): Promise<ReloadResult> {
    if (!options.loadConfig)
      return Promise.resolve({ ok: false, error: 'this gateway was not started from a config file' });
    const load = options.loadConfig;
    return serialized(async () => {
      let next: HubConfig;
      try {
        next = await load();
      } catch (err) {
        const error = (err as Error).message;
        log.error('config reload refused; the running config stays', { error });
        return { ok: false, error };
      }
      return applyReload(next);
    });
  }

  function reload(next: HubConfig): Promise<ReloadResult> {
    return serialized(() => applyReload(next));
  }

  /** One reload at a time, in the order asked. */
  function serialized(work: () => Promise<ReloadResult>): Promise<ReloadResult> {
    const result = reloading.then(work);
    reloading = result.catch(() => undefined);
    return result;
  }

  async function applyReload(next: HubConfig): Promise<ReloadResult> {
    if (shuttingDown) return { ok: false, error: 'aifd is shutting down' };
    const plan = planReload(config, next, countersOnStoreDown);
    const wanted = plan.config;
    try {
      // Everything that can fail is made first; the swap below cannot fail halfway.
      const authenticator = wanted.auth ? await createAuthenticator(wanted.auth, revocations) : undefined;
      const limits = wanted.limits ? await limitsFor(wanted) : undefined;
      const swap = swapUpstreams(upstreams, wanted.upstreams, (upstream) => createUpstreamRuntime(upstream, clock));
      for (const upstream of swap.created) await wireUpstream(upstream);

      config = wanted;
      upstreams = swap.upstreams;
      wantsAnswer = readsAnswers(wanted);
      hub.config = wanted;
      hub.upstreams = upstreams;
      hub.routes = new RouteTable(upstreams);
      hub.router = new ModelRouter(upstreams, wanted.aliases);
      hub.network = new NetworkPolicy(wanted.auth);
      hub.authenticator = authenticator;
      hub.limits = limits;
      for (const upstream of upstreams) setPacing(upstream, wanted);
      if (wanted.auth?.jwt) await followRevocations();
      for (const upstream of swap.retired) retired.add(upstream);
      closeRetired();
      scheduleChecks();
      log.info('config reloaded', {
        upstreams: upstreams.length,
        replacedUpstreams: swap.created.length,
        needRestart: plan.needRestart,
      });
      if (plan.needRestart.length > 0)
        log.warn(`config reload: ${plan.needRestart.join(', ')} change only on restart; the running values stay`);
      return { ok: true, needRestart: plan.needRestart };
    } catch (err) {
      const error = (err as Error).message;
      log.error('config reload failed; the running config stays', { error });
      return { ok: false, error };
    }
  }

  /** Limits for `wanted`, on the counters already open (opened now if limits are new). */
  async function limitsFor(wanted: HubConfig): Promise<Limits> {
    if (!counters) {
      const backend = counterBackend(wanted, options.store);
      counters = await openCounters(backend);
      if (backend.kind === 'redis') countersOnStoreDown = backend.onDown;
    }
    return new Limits(wanted.limits!, counters, clock, priceTable(wanted.prices), (budget, counter, share) =>
      alerts?.notify({
        id: `budget:${counter}`,
        event: 'budget_soft_limit',
        message: `the ${budget} is ${Math.round(share * 100)}% spent`,
        details: { budget, spent: share },
      }),
    );
  }

  /** Restores and follows an upstream's key state, and lets alerts watch it. */
  async function wireUpstream(upstream: UpstreamRuntime): Promise<void> {
    if (keyStore) {
      await keyStore.restore(upstream.pool);
      keyStore.track(upstream.pool);
    }
    if (alerts) watchKeys(upstream.config.name, upstream.pool, alerts);
  }

  let followingRevocations = false;

  /** Token revocations matter with JWT only: they are read, then followed, once JWT is configured. */
  async function followRevocations(): Promise<void> {
    if (!revocations || followingRevocations) return;
    followingRevocations = true;
    await revocations.refresh();
    // During a store outage the last revocations read stay in force; the outage is reported once.
    revocations.follow(500, (err) => {
      if (options.store?.health.up !== false) log.warn('could not read token revocations', { error: err.message });
    });
  }

  function closeRetired(): void {
    for (const upstream of retired) {
      if (
        !active.some(
          (ctx) => ctx.route?.upstream === upstream || ctx.targets?.some((target) => target.upstream === upstream),
        )
      ) {
        retired.delete(upstream);
        destroyUpstreamRuntime(upstream);
      }
    }
  }

  async function checkKeys(upstreamName?: string): Promise<KeyCheckResult[]> {
    const chosen = upstreams.filter(
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

  function scheduleChecks(): void {
    checkTimers.forEach(clearInterval);
    checkTimers = [];
    for (const upstream of upstreams) {
      if (upstream.pool.size === 0 || upstream.config.checkEvery <= 0) continue;
      const timer = setInterval(() => {
        checkKeys(upstream.config.name).catch((err: Error) =>
          log.warn('scheduled key check failed', { upstream: upstream.config.name, error: err.message }),
        );
      }, upstream.config.checkEvery);
      timer.unref();
      checkTimers.push(timer);
    }
  }

  let sink: SqlSink | undefined;

  let counters: Counters | undefined;
  /** How the open Redis counters treat an outage (fixed once they are open). */
  let countersOnStoreDown: 'open' | 'closed' | undefined;
  let clusterFills: ClusterFills | undefined;

  async function listen(): Promise<AddressInfo> {
    if (config.limits) hub.limits = await limitsFor(config);
    for (const upstream of upstreams) {
      setPacing(upstream, config);
      await wireUpstream(upstream);
    }
    const sinkAt = sinkUrl(config);
    if (sinkAt) {
      // Made with its first line: most daemons never need it.
      const fallback = createJsonLinesFile({
        dir: config.logs.dir,
        filename: 'sink-fallback-%DATE%.log',
        log,
        lazy: true,
      });
      sink = new SqlSink(await openDialect(sinkAt), {
        batchSize: 200,
        flushEveryMs: 1000,
        maxBacklog: 10_000,
        fallback,
        log,
      });
      const target = sink;
      recorder.onRecord((record) => target.add(record));
      hub.sink = sink;
      closeFallback = () => fallback.close();
    }
    if (hub.cache && options.store?.kind === 'redis') {
      clusterFills = await ClusterFills.open(config.store, config.storePrefix);
      hub.cache.cluster = clusterFills;
    }
    if (config.auth) hub.authenticator = await createAuthenticator(config.auth, revocations);
    if (config.auth?.jwt) await followRevocations();
    // Instances sharing the store see each other's key status changes within a second (a memory store has no others).
    if (options.store?.kind !== 'memory') keyStore?.follow(() => upstreams.map((upstream) => upstream.pool), 500);
    scheduleChecks();
    return new Promise((resolve, reject) => {
      const onError = (err: Error) => reject(err);
      server.once('error', onError);
      // A deep accept queue: a burst of new connections waits for aifd instead of being dropped.
      server.listen({ port: config.listen.port, host: config.listen.host, backlog: 4096 }, () => {
        server.off('error', onError);
        resolve(server.address() as AddressInfo);
      });
    });
  }

  let closing: Promise<void> | undefined;

  /** Closing twice waits for the first close. */
  function close(graceMs = config.listen.shutdownGrace): Promise<void> {
    closing ??= shutDown(graceMs);
    return closing;
  }

  async function shutDown(graceMs: number): Promise<void> {
    shuttingDown = true;
    checkTimers.forEach(clearInterval);
    revocations?.stop();
    keyStore?.stop();
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    server.closeIdleConnections();
    if (active.size > 0) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, graceMs);
        drained = () => {
          clearTimeout(timer);
          resolve();
        };
      });
    }
    server.closeAllConnections();
    await closed;
    forwarder.close();
    upstreams.forEach(destroyUpstreamRuntime);
    retired.forEach(destroyUpstreamRuntime);
    await keyStore?.flush();
    await recorder.close();
    await sink?.close();
    await closeFallback?.();
    await counters?.close();
    await clusterFills?.close();
  }

  return hub;
}

/** Reading answers for usage is work: skip it where nothing would use what it finds. */
function readsAnswers(config: HubConfig): boolean {
  return Boolean(
    config.logs.access ||
      config.logs.chat ||
      config.logs.sink !== 'none' ||
      config.limits ||
      config.cache.chatCompletions ||
      config.upstreams.some((upstream) => upstream.keys.length > 0),
  );
}

/** `limits.streamTokenRate` paces every stream of the upstream. */
function setPacing(upstream: UpstreamRuntime, config: HubConfig): void {
  const stream = config.limits?.streamTokenRate ? parseRateString(config.limits.streamTokenRate)[0] : undefined;
  upstream.pacing = stream ? () => Pacer.perWindow(stream.points, stream.durationMs) : undefined;
}
