/**
 * The running gateway, made, started, reloaded and stopped: createHub → { listen, reload, close }.
 * A request's path is dispatch.ts → stages.ts (in order) → finishers.ts (after every request).
 */
import type { AddressInfo } from 'node:net';
import type { HubConfig } from '../config/schema.js';
import { ActiveRequests } from './active-requests.js';
import type { RequestContext } from './context.js';
import { createForwarder } from './forward.js';
import { RouteTable } from './routes.js';
import { ModelRouter } from './model-routing.js';
import { planReload, ReloadQueue, swapUpstreams } from './reload.js';
import { createDispatch, readsAnswers } from './dispatch.js';
import { createRecorder } from './recorder.js';
import { openSink } from '../logs/sinks/open-dialect.js';
import type { SqlSink } from '../logs/sinks/sql-sink.js';
import { openCounters, type Counters } from '../limits/counters.js';
import { Limits } from '../limits/limits.js';
import { ResponseCache } from '../cache/response-cache.js';
import { ClusterFills } from '../cache/cluster-fills.js';
import { createAlerts } from '../alerts/alerts.js';
import { budgetAlerts, reportStoreOutages, watchKeys } from '../alerts/watch.js';
import { counterBackend } from '../limits/counter-backend.js';
import { createServer } from './socket-guards.js';
import type https from 'node:https';
import { serveWithTlsFiles } from '../net/tls-files.js';
import { OpenSessions } from './open-sessions.js';
import { acceptUpgrade } from './upgrade.js';
import { CLOSE_CODE, SESSION_CLOSE_WAIT_MS } from './ws-session.js';
import { priceTable } from '../usage/prices.js';
import { createAuthenticator } from '../auth/authenticate.js';
import { NetworkPolicy } from '../auth/network.js';
import { Revocations } from '../auth/revocations.js';
import { createUpstreamRuntime, destroyUpstreamRuntime, setPacing, type UpstreamRuntime } from './upstreams.js';
import { RetiredUpstreams } from './retired-upstreams.js';
import { KeyStateStore, type KeyCounts } from '../keys/key-store.js';
import { KeyChecks } from './key-checks.js';
import { poolKeyName, poolViews } from '../keys/snapshot.js';
import { systemClock } from '../util/clock.js';
import { openTelemetry } from '../telemetry/open-telemetry.js';
import type { Hub, HubOptions, ReloadResult } from './hub-api.js';

export type { Hub, HubOptions };

export function createHub(initialConfig: HubConfig, options: HubOptions): Hub {
  let config = initialConfig;
  const clock = options.clock ?? systemClock;
  let upstreams = config.upstreams.map((upstream) => createUpstreamRuntime(upstream, clock));
  const keyStore = options.store
    ? new KeyStateStore(options.store.namespace('keys'), options.log, undefined, options.shared?.keyWriter)
    : undefined;
  const revocations = options.store ? new Revocations(options.store.namespace('revocations')) : undefined;
  const sessions = new OpenSessions();
  const forwarder = createForwarder(sessions);
  const recorder = options.shared?.records
    ? createRecorder(config, options.log, options.shared.records)
    : createRecorder(config, options.log);
  let wantsAnswer = readsAnswers(config);
  const log = options.log;
  const active = new ActiveRequests<RequestContext>();
  const retired = new RetiredUpstreams(active);
  let shuttingDown = false;

  const server = createServer(config.listen);

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
    cache: options.store && ResponseCache.inStore(options.store, clock, config.cache),
    telemetry: undefined,
    inFlight: () => active.size,
    isShuttingDown: () => shuttingDown,
    listen,
    close,
    checkKeys: (upstreamName?: string) => keyChecks.check(upstreamName),
    sessions,
    keyViews: () => {
      const open = sessions.byKey();
      return upstreams.flatMap((upstream) => poolViews(upstream.config.name, upstream.pool, clock.now(), open));
    },
    unsavedKeyCounts: () => {
      const counts = new Map<string, KeyCounts>();
      if (!keyStore) return counts;
      for (const upstream of upstreams)
        for (const key of upstream.pool.keys)
          counts.set(poolKeyName(upstream.config.name, key.hash), keyStore.unsaved(upstream.pool, key.hash));
      return counts;
    },
    reload: (next: HubConfig) => reloads.reload(next),
    reloadFromSource: () => reloads.reloadFromSource(),
  };
  const keyChecks = new KeyChecks(() => upstreams, log);
  const handle = createDispatch({
    hub,
    active,
    isShuttingDown: () => shuttingDown,
    wantsAnswer: () => wantsAnswer,
    onFinished: () => retired.closeUnused(),
  });
  server.on('request', (req, res) => void handle(req, res));
  server.on('upgrade', (req, socket, head) => acceptUpgrade(handle, req, socket, head));
  const reloads = new ReloadQueue(applyReload, options.loadConfig, log);

  async function applyReload(next: HubConfig): Promise<ReloadResult> {
    if (shuttingDown) return { ok: false, error: 'aifd is shutting down' };
    const plan = planReload(config, next, countersOnStoreDown);
    const wanted = plan.config;
    try {
      // Everything that can fail is made first; the swap below cannot fail halfway. A renewed certificate is read again.
      if (config.listen.tls) await serveWithTlsFiles(server as https.Server, config.listen.tls, 'listen');
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
      retired.add(swap.retired);
      keyChecks.schedule();
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
    counters ??= options.shared?.counters;
    if (!counters) {
      const backend = counterBackend(wanted, options.store);
      counters = await openCounters(backend);
      if (backend.kind === 'redis') countersOnStoreDown = backend.onDown;
    }
    return new Limits(wanted.limits!, counters, clock, priceTable(wanted.prices), alerts && budgetAlerts(alerts));
  }

  /** Restores and follows an upstream's key state, and lets alerts watch it. */
  async function wireUpstream(upstream: UpstreamRuntime): Promise<void> {
    if (keyStore) {
      await keyStore.restore(upstream.pool);
      keyStore.track(upstream.pool);
    }
    if (alerts) watchKeys(upstream.config.name, upstream.pool, alerts);
  }

  /** Token revocations matter with JWT only: they are read, then followed, once JWT is configured. */
  function followRevocations(): Promise<void> | undefined {
    // During a store outage the last revocations read stay in force; the outage is reported once.
    return revocations?.follow(500, (err) => {
      if (options.store?.health.up !== false) log.warn('could not read token revocations', { error: err.message });
    });
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
    if (!options.shared?.records) sink = await openSink(config, log);
    if (sink) {
      const target = sink;
      recorder.onRecord((record) => target.add(record));
      hub.sink = sink;
    }
    if (hub.cache && options.shared?.fills) hub.cache.cluster = options.shared.fills;
    else if (hub.cache && options.store?.kind === 'redis') {
      clusterFills = await ClusterFills.open(config.store, config.storePrefix);
      hub.cache.cluster = clusterFills;
    }
    hub.telemetry = await openTelemetry(config, log);
    if (config.auth) hub.authenticator = await createAuthenticator(config.auth, revocations);
    if (config.auth?.jwt) await followRevocations();
    // Instances sharing the store see each other's key status changes within a second (a memory store has no others).
    if (options.store?.kind !== 'memory') keyStore?.follow(() => upstreams.map((upstream) => upstream.pool), 500);
    keyChecks.schedule();
    if (config.listen.tls) await serveWithTlsFiles(server as https.Server, config.listen.tls, 'listen');
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
    keyChecks.stop();
    revocations?.stop();
    keyStore?.stop();
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    server.closeIdleConnections();
    await active.drained(graceMs);
    // Sessions still open after the grace are told aifd is going away; their records are written as they close.
    if (sessions.size > 0) {
      sessions.closeAll(CLOSE_CODE.goingAway, 'aifd is shutting down');
      await active.drained(SESSION_CLOSE_WAIT_MS);
    }
    server.closeAllConnections();
    await closed;
    forwarder.close();
    upstreams.forEach(destroyUpstreamRuntime);
    retired.destroyAll();
    await keyStore?.flush();
    await recorder.close();
    await hub.telemetry?.close();
    await sink?.close();
    await counters?.close();
    await clusterFills?.close();
  }

  return hub;
}
