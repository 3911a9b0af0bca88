/**
 * The running gateway: the public HTTP listener, its stages, and graceful shutdown.
 * createHub → { listen, close }; nothing here parses argv or prints banners.
 */
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import type { HubConfig } from '../config/schema.js';
import { AifdError, isAifdError, openAIErrorBody } from '../errors.js';
import type { Diagnostics } from '../logs/diagnostics.js';
import { newOutcome, type RequestContext } from './context.js';
import { createForwarder, type Forwarder } from './forward.js';
import { sendError } from './respond.js';
import { RouteTable } from './routes.js';
import { ModelRouter } from './model-routing.js';
import { STAGES } from './stages.js';
import { createRecorder, type Recorder } from './recorder.js';
import { createJsonLinesFile } from '../logs/json-lines-file.js';
import { openDialect, sinkUrl } from '../logs/sinks/open-dialect.js';
import { SqlSink } from '../logs/sinks/sql-sink.js';
import { openCounters, type CounterBackend, type Counters } from '../limits/counters.js';
import { Limits } from '../limits/limits.js';
import { ResponseCache } from '../cache/response-cache.js';
import { createAlerts, type Alerts } from '../admin/alerts.js';
import type { KeyState, PoolKey } from '../keys/pool.js';
import { Pacer } from '../limits/pacer.js';
import { parseRateString } from '../config/rate-string.js';
import { priceTable } from '../usage/prices.js';
import { NO_BODY } from './inspect-body.js';
import { createAuthenticator, type Authenticator } from '../auth/authenticate.js';
import { NetworkPolicy } from '../auth/network.js';
import { Revocations } from '../auth/revocations.js';
import { createUpstreamRuntime, destroyUpstreamRuntime, type UpstreamRuntime } from './upstreams.js';
import { clientAddress } from './client-address.js';
import { KeyStateStore } from '../keys/key-store.js';
import { applyCheckResults, checkUpstreamKeys, type KeyCheckResult } from '../keys/check.js';
import { poolViews, type KeyView } from '../keys/snapshot.js';
import type { Store } from '../store/open-store.js';
import { systemClock, type Clock } from '../util/clock.js';

export interface Hub {
  readonly config: HubConfig;
  readonly routes: RouteTable;
  readonly router: ModelRouter;
  readonly upstreams: readonly UpstreamRuntime[];
  readonly forwarder: Forwarder;
  readonly log: Diagnostics;
  readonly server: http.Server;
  readonly clock: Clock;
  readonly network: NetworkPolicy;
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
}

export interface HubOptions {
  log: Diagnostics;
  /** Where key state survives restarts; without it state lives only in memory. */
  store?: Store;
  clock?: Clock;
}


export function createHub(config: HubConfig, options: HubOptions): Hub {
  const clock = options.clock ?? systemClock;
  const upstreams = config.upstreams.map((upstream) => createUpstreamRuntime(upstream, clock));
  const keyStore = options.store ? new KeyStateStore(options.store.namespace('keys'), options.log) : undefined;
  const revocations = config.auth?.jwt && options.store ? new Revocations(options.store.namespace('revocations')) : undefined;
  const routes = new RouteTable(upstreams);
  const router = new ModelRouter(upstreams, config.aliases);
  const forwarder = createForwarder();
  const recorder = createRecorder(config, options.log);
  // Reading answers for usage is work: skip it where nothing would use what it finds.
  const wantsAnswer = Boolean(
    config.logs.access || config.logs.chat || config.logs.sink !== 'none' || config.limits || config.cache.chatCompletions || config.upstreams.some((upstream) => upstream.keys.length > 0),
  );
  let closeFallback: (() => Promise<void>) | undefined;
  const log = options.log;
  const active = new Set<RequestContext>();
  let shuttingDown = false;
  let drained: (() => void) | undefined;

  const server = http.createServer({ keepAliveTimeout: 65_000, headersTimeout: 30_000, requestTimeout: 300_000 });
  server.on('request', (req, res) => void handle(req, res));
  server.on('clientError', answerClientError);

  const alerts = config.alerts ? createAlerts(config.alerts, clock, log) : undefined;
  if (alerts) for (const upstream of upstreams) watchForAlerts(upstream, alerts);

  const hub: Hub = {
    config,
    routes,
    router,
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
    cache: options.store ? new ResponseCache(options.store.namespace('cache'), clock, { ttlMs: config.cache.ttl, maxEntryBytes: config.cache.maxEntrySize }) : undefined,
    inFlight: () => active.size,
    isShuttingDown: () => shuttingDown,
    listen,
    close,
    checkKeys,
    keyViews: () => upstreams.flatMap((upstream) => poolViews(upstream.config.name, upstream.pool, clock.now())),
  };
  const checkTimers: NodeJS.Timeout[] = [];


  async function checkKeys(upstreamName?: string): Promise<KeyCheckResult[]> {
    const chosen = upstreams.filter((upstream) => upstream.pool.size > 0 && (!upstreamName || upstream.config.name === upstreamName));
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
    for (const upstream of upstreams) {
      if (upstream.pool.size === 0 || upstream.config.checkEvery <= 0) continue;
      const timer = setInterval(() => {
        checkKeys(upstream.config.name).catch((err: Error) => log.warn('scheduled key check failed', { upstream: upstream.config.name, error: err.message }));
      }, upstream.config.checkEvery);
      timer.unref();
      checkTimers.push(timer);
    }
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const ctx: RequestContext = {
      id: randomUUID(),
      startedAt: performance.now(),
      req,
      res,
      clientIp: clientAddress(req, config.listen.trustProxy),
      clientGone: clientGoneSignal(res),
      identity: undefined,
      rewriteJson: undefined,
      injectedUsage: false,
      wantsAnswer,
      bodyChanged: false,
      cacheStatus: undefined,
      cacheFill: undefined,
      admission: undefined,
      exchange: undefined,
      usage: undefined,
      usageSource: undefined,
      route: undefined,
      targets: undefined,
      target: undefined,
      alias: undefined,
      body: EMPTY_BODY,
      info: NO_BODY,
      outcome: newOutcome(),
    };
    active.add(ctx);
    res.setHeader('x-aifd-request-id', ctx.id);
    if (shuttingDown) res.setHeader('connection', 'close');
    try {
      for (const stage of STAGES) {
        // Most stages answer synchronously; awaiting only real promises saves a microtask each.
        const result = stage(ctx, hub);
        if ((typeof result === 'string' ? result : await result) === 'done') break;
      }
    } catch (err) {
      answerStageError(ctx, err);
    } finally {
      await recorder.finish(ctx);
      active.delete(ctx);
      if (active.size === 0) drained?.();
    }
  }

  function answerStageError(ctx: RequestContext, err: unknown): void {
    const error = isAifdError(err) ? err : new AifdError('internal_error', 'aifd failed to handle the request');
    if (!isAifdError(err)) log.error('request failed', { requestId: ctx.id, error: (err as Error)?.message });
    ctx.outcome.status = error.status;
    ctx.outcome.error = error.code;
    if (error.code === 'request_too_large' || error.code === 'invalid_request') {
      // The rest of the body is not read; the connection cannot be reused.
      ctx.res.setHeader('connection', 'close');
    }
    sendError(ctx.res, ctx.id, error);
  }

  let sink: SqlSink | undefined;

  let counters: Counters | undefined;

  async function listen(): Promise<AddressInfo> {
    if (config.limits) {
      counters = await openCounters(counterBackend(config));
      hub.limits = new Limits(config.limits, counters, clock, priceTable(config.prices), (budget, counter, share) =>
        alerts?.notify({ id: `budget:${counter}`, event: 'budget_soft_limit', message: `the ${budget} is ${Math.round(share * 100)}% spent`, details: { budget, spent: share } }),
      );
      const stream = config.limits.streamTokenRate ? parseRateString(config.limits.streamTokenRate)[0] : undefined;
      if (stream) for (const upstream of upstreams) upstream.pacing = () => Pacer.perWindow(stream.points, stream.durationMs);
    }
    const sinkAt = sinkUrl(config);
    if (sinkAt) {
      const fallback = createJsonLinesFile({ dir: config.logs.dir, filename: 'sink-fallback-%DATE%.log', log });
      sink = new SqlSink(await openDialect(sinkAt), { batchSize: 200, flushEveryMs: 1000, maxBacklog: 10_000, fallback, log });
      const target = sink;
      recorder.onRecord((record) => target.add(record));
      hub.sink = sink;
      closeFallback = () => fallback.close();
    }
    if (config.auth) hub.authenticator = await createAuthenticator(config.auth, revocations);
    if (revocations) {
      await revocations.refresh();
      revocations.follow(500, (err) => log.warn('could not read token revocations', { error: err.message }));
    }
    if (keyStore) {
      for (const upstream of upstreams) {
        await keyStore.restore(upstream.pool);
        keyStore.track(upstream.pool);
      }
    }
    scheduleChecks();
    return new Promise((resolve, reject) => {
      const onError = (err: Error) => reject(err);
      server.once('error', onError);
      server.listen(config.listen.port, config.listen.host, () => {
        server.off('error', onError);
        resolve(server.address() as AddressInfo);
      });
    });
  }

  async function close(graceMs = config.listen.shutdownGrace): Promise<void> {
    shuttingDown = true;
    checkTimers.forEach(clearInterval);
    revocations?.stop();
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
    await keyStore?.flush();
    await recorder.close();
    await sink?.close();
    await closeFallback?.();
    await counters?.close();
  }

  return hub;
}

const EMPTY_BODY = Buffer.alloc(0);

/**
 * A signal that aborts when the client goes away before its answer is complete. Made on first
 * use only: most requests never wait for a key and never need one.
 */
function clientGoneSignal(res: ServerResponse): AbortSignal {
  let controller: AbortController | undefined;
  return {
    get aborted() {
      return res.destroyed && !res.writableFinished;
    },
    addEventListener(type: string, listener: () => void, options?: { once?: boolean }) {
      if (!controller) {
        controller = new AbortController();
        const made = controller;
        if (res.destroyed && !res.writableFinished) made.abort();
        else res.once('close', () => !res.writableFinished && made.abort());
      }
      controller.signal.addEventListener(type, listener, options);
    },
    removeEventListener(type: string, listener: () => void) {
      controller?.signal.removeEventListener(type, listener);
    },
  } as AbortSignal;
}

/** Malformed HTTP never reaches a stage: answer it here, OpenAI-shaped, and close. */
function answerClientError(err: NodeJS.ErrnoException, socket: Socket): void {
  if (!socket.writable || (err as { code?: string }).code === 'ECONNRESET') {
    socket.destroy();
    return;
  }
  const tooLarge = err.code === 'HPE_HEADER_OVERFLOW';
  const status = tooLarge ? 431 : 400;
  const error = new AifdError('invalid_request', tooLarge ? 'the request headers are too large' : 'the request is not valid HTTP');
  const body = openAIErrorBody(error);
  socket.end(
    `HTTP/1.1 ${status} ${tooLarge ? 'Request Header Fields Too Large' : 'Bad Request'}\r\n` +
      'content-type: application/json; charset=utf-8\r\n' +
      `content-length: ${Buffer.byteLength(body)}\r\n` +
      'connection: close\r\n\r\n' +
      body,
  );
}

/** Limits count where the state lives: memory, the SQLite store, or Redis. */
function counterBackend(config: HubConfig): CounterBackend {
  if (config.store.startsWith('sqlite://')) return { kind: 'sqlite', file: config.store.slice('sqlite://'.length) };
  if (config.store.startsWith('redis://') || config.store.startsWith('rediss://')) return { kind: 'redis', url: config.store, prefix: 'aifd:' };
  return { kind: 'memory' };
}

/** Key incidents become alerts: revoked, over quota, or failing again and again (the upstream). */
function watchForAlerts(upstream: UpstreamRuntime, alerts: Alerts): void {
  const name = upstream.config.name;
  upstream.pool.on('status', (key: PoolKey, state: KeyState) => {
    if (state.status === 'revoked') alerts.notify({ id: `revoked:${key.hash}`, event: 'key_revoked', message: `key ${key.masked} (${key.hash}) of upstream "${name}" was refused by the upstream (401) and left the pool`, details: { upstream: name, key: key.hash } });
    if (state.status === 'over_quota') alerts.notify({ id: `over_quota:${key.hash}`, event: 'key_over_quota', message: `key ${key.masked} (${key.hash}) of upstream "${name}" is out of quota`, details: { upstream: name, key: key.hash } });
    if (state.status === 'cooling' && state.consecutiveFailures >= 3) alerts.notify({ id: `failing:${name}`, event: 'upstream_failing', message: `upstream "${name}" keeps failing: ${state.reason ?? 'errors'}`, details: { upstream: name, key: key.hash, failures: state.consecutiveFailures } });
  });
}
