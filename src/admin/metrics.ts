/**
 * Prometheus metrics (prom-client, a registry of our own). Request metrics follow the access
 * records; key and queue gauges are read when scraped. Label sets are bounded: routes, upstreams
 * and keys come from the config, and at most MAX_MODELS model names get a label of their own (the
 * rest count as "other"), since the model is whatever a client writes.
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { AccessRecord } from '../logs/access-record.js';
import type { Hub } from '../proxy/hub.js';
import { boundedLabel } from '../util/bounded-label.js';

const MAX_MODELS = 50;
const REFUSALS = new Set(['rate_limit_exceeded', 'tokens_limit_exceeded', 'budget_exceeded', 'no_key_available']);

export interface Metrics {
  readonly registry: Registry;
  observe(record: AccessRecord): void;
  text(): Promise<string>;
}

export function createMetrics(hub: Hub): Metrics {
  const registry = new Registry();
  // The event-loop lag histogram samples on a timer; prom-client's 10 ms wakes an idle daemon 100
  // times a second (5.5 ms of CPU a second here, a fifth of a slow stream's cost). 100 ms still
  // catches any stall that matters to a proxy.
  collectDefaultMetrics({ register: registry, prefix: 'aifd_', eventLoopMonitoringPrecision: 100 });
  const modelLabel = boundedLabel(MAX_MODELS);
  const errorLabel = boundedLabel(MAX_MODELS);

  const requests = new Counter({
    name: 'aifd_requests_total',
    help: 'Requests by route, status and model',
    labelNames: ['route', 'status', 'model'],
    registers: [registry],
  });
  const duration = new Histogram({
    name: 'aifd_request_duration_seconds',
    help: 'Time from request to the end of the answer',
    labelNames: ['route'],
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120],
    registers: [registry],
  });
  const ttfb = new Histogram({
    name: 'aifd_upstream_ttfb_seconds',
    help: 'Time to the first byte of the answer, by upstream',
    labelNames: ['upstream'],
    buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    registers: [registry],
  });
  const overhead = new Histogram({
    name: 'aifd_overhead_seconds',
    help: 'Time spent in aifd itself before the first byte',
    buckets: [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.05],
    registers: [registry],
  });
  const queueWait = new Histogram({
    name: 'aifd_queue_wait_seconds',
    help: 'Time requests waited for a usable key',
    labelNames: ['upstream'],
    buckets: [0.001, 0.01, 0.1, 0.5, 1, 2.5, 5, 10, 30],
    registers: [registry],
  });
  const tokens = new Counter({
    name: 'aifd_tokens_total',
    help: 'Tokens by kind and model',
    labelNames: ['kind', 'model'],
    registers: [registry],
  });
  const refusals = new Counter({
    name: 'aifd_refusals_total',
    help: 'Requests refused by limits, budgets or an empty key pool',
    labelNames: ['code'],
    registers: [registry],
  });
  const retries = new Counter({
    name: 'aifd_retries_total',
    help: 'Extra upstream attempts',
    labelNames: ['upstream'],
    registers: [registry],
  });
  const cache = new Counter({
    name: 'aifd_cache_total',
    help: 'Cache lookups by result',
    labelNames: ['result'],
    registers: [registry],
  });
  const errors = new Counter({
    name: 'aifd_errors_total',
    help: 'Requests that ended with an error code',
    labelNames: ['code'],
    registers: [registry],
  });

  const sessionFrames = new Counter({
    name: 'aifd_ws_frames_total',
    help: 'WebSocket frames relayed, by direction (in: client to upstream), counted as sessions end',
    labelNames: ['direction'],
    registers: [registry],
  });
  const sessionBytes = new Counter({
    name: 'aifd_ws_bytes_total',
    help: 'WebSocket bytes relayed, by direction (in: client to upstream), counted as sessions end',
    labelNames: ['direction'],
    registers: [registry],
  });
  new Counter({
    name: 'aifd_telemetry_dropped_spans_total',
    help: 'Spans that could not be exported over OTLP (the endpoint down, or more queued than it takes)',
    registers: [registry],
    collect() {
      this.reset();
      const dropped = hub.telemetry?.droppedSpans() ?? 0;
      if (dropped > 0) this.inc(dropped);
    },
  });
  new Gauge({
    name: 'aifd_ws_sessions',
    help: 'WebSocket sessions open',
    registers: [registry],
    collect() {
      this.set(hub.sessions.size);
    },
  });
  new Gauge({
    name: 'aifd_key_in_flight',
    help: 'Requests in flight per pool key',
    labelNames: ['upstream', 'key'],
    registers: [registry],
    collect() {
      this.reset();
      for (const view of hub.keyViews()) this.set({ upstream: view.upstream, key: view.hash }, view.inFlight);
    },
  });
  new Gauge({
    name: 'aifd_key_status',
    help: 'Pool key status (1 for the current status)',
    labelNames: ['upstream', 'key', 'status'],
    registers: [registry],
    // With --workers, each worker says 1 for what it sees: a status is current where any worker sees it.
    aggregator: 'max',
    collect() {
      this.reset();
      for (const view of hub.keyViews()) this.set({ upstream: view.upstream, key: view.hash, status: view.status }, 1);
    },
  });
  new Gauge({
    name: 'aifd_queue_length',
    help: 'Requests waiting for a key',
    labelNames: ['upstream'],
    registers: [registry],
    collect() {
      for (const upstream of hub.upstreams) this.set({ upstream: upstream.config.name }, upstream.queue.length);
    },
  });
  new Gauge({
    name: 'aifd_in_flight',
    help: 'Requests accepted and not yet answered in full',
    registers: [registry],
    collect() {
      this.set(hub.inFlight());
    },
  });
  new Gauge({
    name: 'aifd_store_up',
    help: 'Whether the shared store (Redis) can be reached (1) or not (0)',
    registers: [registry],
    aggregator: 'min',
    collect() {
      this.set(hub.storeHealth?.up === false ? 0 : 1);
    },
  });
  new Gauge({
    name: 'aifd_store_outages',
    help: 'Store outages since start',
    registers: [registry],
    aggregator: 'max',
    collect() {
      this.set(hub.storeHealth?.outages ?? 0);
    },
  });
  new Gauge({
    name: 'aifd_log_write_failures',
    help: 'Access and chat log lines that could not be written',
    registers: [registry],
    collect() {
      this.set(hub.recorder.failures);
    },
  });

  return {
    registry,
    observe(record) {
      const model = modelLabel(record.model);
      const route = record.route ?? 'none';
      requests.inc({ route, status: String(record.status ?? 0), model });
      duration.observe({ route }, record.durationMs / 1000);
      if (record.upstream && record.ttfbMs !== null && record.cache !== 'hit')
        ttfb.observe({ upstream: record.upstream }, record.ttfbMs / 1000);
      if (record.overheadMs !== null) overhead.observe(record.overheadMs / 1000);
      if (record.upstream && record.queueMs > 1)
        queueWait.observe({ upstream: record.upstream }, record.queueMs / 1000);
      if (record.usage) {
        tokens.inc({ kind: 'prompt', model }, record.usage.prompt_tokens);
        tokens.inc({ kind: 'completion', model }, record.usage.completion_tokens);
        if (record.usage.cached_tokens) tokens.inc({ kind: 'cached', model }, record.usage.cached_tokens);
        if (record.usage.audio_prompt_tokens)
          tokens.inc({ kind: 'audio_prompt', model }, record.usage.audio_prompt_tokens);
        if (record.usage.audio_completion_tokens)
          tokens.inc({ kind: 'audio_completion', model }, record.usage.audio_completion_tokens);
        if (record.usage.reasoning_tokens) tokens.inc({ kind: 'reasoning', model }, record.usage.reasoning_tokens);
      }
      if (record.session) {
        sessionFrames.inc({ direction: 'in' }, record.session.framesIn);
        sessionFrames.inc({ direction: 'out' }, record.session.framesOut);
        sessionBytes.inc({ direction: 'in' }, record.session.bytesIn);
        sessionBytes.inc({ direction: 'out' }, record.session.bytesOut);
      }
      if (record.attempts > 1 && record.upstream) retries.inc({ upstream: record.upstream }, record.attempts - 1);
      if (record.cache) cache.inc({ result: record.cache });
      if (record.error) {
        if (REFUSALS.has(record.error)) refusals.inc({ code: record.error });
        errors.inc({ code: errorLabel(record.error) });
      }
    },
    text: () => registry.metrics(),
  };
}
