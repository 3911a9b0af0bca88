/**
 * The OpenTelemetry SDK behind `telemetry.otlp`: spans batched and exported over OTLP/HTTP
 * (protobuf), the GenAI metrics read and exported every `metricsInterval`, the W3C trace context
 * read from clients and written upstream. Nothing is registered globally: aifd's spans come only
 * from here. Loaded only when configured (see telemetry.ts).
 */
import os from 'node:os';
import {
  ROOT_CONTEXT,
  SpanKind,
  SpanStatusCode,
  TraceFlags,
  trace,
  type Context,
  type Span,
  type TextMapGetter,
} from '@opentelemetry/api';
import { ExportResultCode, W3CTraceContextPropagator, type ExportResult } from '@opentelemetry/core';
import { OTLPMetricExporter } from '@opentelemetry/exporter-metrics-otlp-proto';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { MeterProvider, PeriodicExportingMetricReader } from '@opentelemetry/sdk-metrics';
import {
  BasicTracerProvider,
  BatchSpanProcessor,
  ParentBasedSampler,
  TraceIdRatioBasedSampler,
  type ReadableSpan,
  type SpanExporter,
  type SpanProcessor,
} from '@opentelemetry/sdk-trace-base';
import type { IncomingHttpHeaders } from 'node:http';
import type { OtlpConfig } from '../config/schema.js';
import type { AccessRecord } from '../logs/access-record.js';
import type { Diagnostics } from '../logs/diagnostics.js';
import { boundedLabel } from '../util/bounded-label.js';
import { packageVersion } from '../util/package-version.js';
import {
  DURATION_BUCKETS,
  FIRST_TOKEN_BUCKETS,
  TOKEN_BUCKETS,
  attemptAttributes,
  errorType,
  operationName,
  modelCallAttributes,
  requestAttributes,
  requestSpanName,
} from './genai.js';
import type { AttemptFacts, AttemptTrace, RequestFacts, RequestTrace, Telemetry } from './telemetry.js';

/** Spans ended and not yet exported, at most; more are dropped (and counted) rather than held. */
const MAX_QUEUED_SPANS = 2048;
/** How long one export may take, its retries included (a collector that restarts is waited for). */
const EXPORT_TIMEOUT_MS = 5000;
/** How long shutting down waits for the last exports; what has not gone by then is counted dropped. */
const CLOSE_WAIT_MS = 2000;
/** A shorter wait for a key (a free one at once, nearly every request) makes no span: it says nothing, and costs one. */
const QUEUE_SPAN_MIN_MS = 1;
/** Model names and error codes are whatever clients and upstreams write: bounded as metric attributes. */
const MAX_LABEL_VALUES = 50;

const headerGetter: TextMapGetter<IncomingHttpHeaders> = {
  get: (headers, key) => headers[key],
  keys: (headers) => Object.keys(headers),
};

export function startOtlpTelemetry(config: OtlpConfig, log: Diagnostics): Telemetry {
  const base = config.endpoint.replace(/\/+$/, '');
  const version = packageVersion();
  const resource = resourceFromAttributes({
    'service.name': config.serviceName,
    'service.version': version,
    'service.instance.id': `${os.hostname()}:${process.pid}`,
  });
  const spans = new CountedSpanProcessor(
    new OTLPTraceExporter({ url: `${base}/v1/traces`, headers: config.headers, timeoutMillis: EXPORT_TIMEOUT_MS }),
    base,
    log,
  );
  const tracerProvider = new BasicTracerProvider({
    resource,
    sampler: new ParentBasedSampler({ root: new TraceIdRatioBasedSampler(config.sampling) }),
    spanProcessors: [spans],
  });
  const tracer = tracerProvider.getTracer('aifd', version);
  const meterProvider = new MeterProvider({
    resource,
    readers: [
      new PeriodicExportingMetricReader({
        exporter: new OTLPMetricExporter({
          url: `${base}/v1/metrics`,
          headers: config.headers,
          timeoutMillis: EXPORT_TIMEOUT_MS,
        }),
        exportIntervalMillis: config.metricsInterval,
        exportTimeoutMillis: Math.min(EXPORT_TIMEOUT_MS, config.metricsInterval),
      }),
    ],
  });
  const meter = meterProvider.getMeter('aifd', version);
  const metrics = {
    tokens: meter.createHistogram('gen_ai.client.token.usage', {
      unit: '{token}',
      description: 'Number of input and output tokens used.',
      advice: { explicitBucketBoundaries: TOKEN_BUCKETS },
    }),
    duration: meter.createHistogram('gen_ai.client.operation.duration', {
      unit: 's',
      description: 'GenAI operation duration.',
      advice: { explicitBucketBoundaries: DURATION_BUCKETS },
    }),
    firstToken: meter.createHistogram('gen_ai.server.time_to_first_token', {
      unit: 's',
      description: 'Time to generate first token for successful responses.',
      advice: { explicitBucketBoundaries: FIRST_TOKEN_BUCKETS },
    }),
  };
  const modelLabel = boundedLabel(MAX_LABEL_VALUES);
  const errorLabel = boundedLabel(MAX_LABEL_VALUES);
  const propagator = new W3CTraceContextPropagator();

  function recordMetrics(record: AccessRecord, facts: RequestFacts): void {
    if (!operationName(facts.api)) return;
    const attributes = modelCallAttributes(facts.api, facts.provider, modelLabel(facts.requestModel), facts.baseUrl);
    if (record.model) attributes['gen_ai.response.model'] = modelLabel(record.model);
    const error = errorType(record);
    metrics.duration.record(
      record.durationMs / 1000,
      error ? { ...attributes, 'error.type': errorLabel(error) } : attributes,
    );
    // A cache hit is billed nothing: no token usage is reported for it.
    if (record.usage && record.cache !== 'hit') {
      metrics.tokens.record(record.usage.prompt_tokens, { ...attributes, 'gen_ai.token.type': 'input' });
      metrics.tokens.record(record.usage.completion_tokens, { ...attributes, 'gen_ai.token.type': 'output' });
    }
    if (record.stream && record.status === 200 && record.ttfbMs !== null)
      metrics.firstToken.record(record.ttfbMs / 1000, attributes);
  }

  class OtlpRequestTrace implements RequestTrace {
    private readonly within: Context;

    constructor(private readonly span: Span) {
      this.within = trace.setSpan(ROOT_CONTEXT, span);
    }

    queued(from: number, to: number): void {
      if (to - from < QUEUE_SPAN_MIN_MS) return;
      tracer.startSpan('key queue', { kind: SpanKind.INTERNAL, startTime: from }, this.within).end(to);
    }

    attempt(facts: AttemptFacts): AttemptTrace {
      const operation = operationName(facts.api);
      const name = operation ? `${operation}${facts.model ? ` ${facts.model}` : ''}` : `upstream ${facts.upstream}`;
      const span = tracer.startSpan(name, { kind: SpanKind.CLIENT, attributes: attemptAttributes(facts) }, this.within);
      const carrier: Record<string, string> = {};
      propagator.inject(trace.setSpan(ROOT_CONTEXT, span), carrier, {
        set: (target, key, value) => {
          target[key] = value;
        },
      });
      return {
        traceparent: carrier.traceparent!,
        tracestate: carrier.tracestate,
        end(status, error) {
          if (status !== undefined) span.setAttribute('http.response.status_code', status);
          const failed = errorType({ status: status ?? null, error: error ?? null });
          if (failed) {
            span.setAttribute('error.type', failed);
            span.setStatus({ code: SpanStatusCode.ERROR, message: error });
          }
          span.end();
        },
      };
    }

    end(record: AccessRecord, facts: RequestFacts): void {
      const { span } = this;
      span.updateName(requestSpanName(record.method, record.path, facts));
      span.setAttributes(requestAttributes(record, facts));
      if (record.status === null || record.status >= 500)
        span.setStatus({ code: SpanStatusCode.ERROR, message: record.error ?? undefined });
      span.end();
      recordMetrics(record, facts);
    }
  }

  log.info('exporting OpenTelemetry spans and metrics', { endpoint: base, sampling: config.sampling });
  return {
    begin(headers, startedAt) {
      const parent = propagator.extract(ROOT_CONTEXT, headers, headerGetter);
      return new OtlpRequestTrace(tracer.startSpan('request', { kind: SpanKind.SERVER, startTime: startedAt }, parent));
    },
    droppedSpans: () => spans.dropped,
    async close() {
      let timer: NodeJS.Timeout | undefined;
      const late = new Promise<void>((resolve) => {
        timer = setTimeout(resolve, CLOSE_WAIT_MS);
      });
      await Promise.race([Promise.allSettled([tracerProvider.shutdown(), meterProvider.shutdown()]), late]);
      clearTimeout(timer);
      spans.abandon();
    },
  };
}

/**
 * A batch span processor that counts what it loses: spans whose export failed, and spans past
 * MAX_QUEUED_SPANS waiting to be exported (dropped here, before the batch processor would drop
 * them uncounted). A failing endpoint is logged once, and again when exports work again.
 */
class CountedSpanProcessor implements SpanProcessor {
  dropped = 0;
  private pending = 0;
  private failing = false;
  private abandoned = false;
  private readonly batch: BatchSpanProcessor;

  constructor(
    exporter: SpanExporter,
    private readonly endpoint: string,
    private readonly log: Diagnostics,
  ) {
    const counted: SpanExporter = {
      export: (batch, done) =>
        exporter.export(batch, (result) => {
          this.settled(batch.length, result);
          done(result);
        }),
      shutdown: () => exporter.shutdown(),
      forceFlush: () => exporter.forceFlush?.() ?? Promise.resolve(),
    };
    this.batch = new BatchSpanProcessor(counted, {
      maxQueueSize: MAX_QUEUED_SPANS,
      exportTimeoutMillis: EXPORT_TIMEOUT_MS,
    });
  }

  onStart(span: Parameters<SpanProcessor['onStart']>[0], context: Context): void {
    this.batch.onStart(span, context);
  }

  onEnd(span: ReadableSpan): void {
    if ((span.spanContext().traceFlags & TraceFlags.SAMPLED) === 0) return;
    if (this.pending >= MAX_QUEUED_SPANS) {
      this.dropped++;
      return;
    }
    this.pending++;
    this.batch.onEnd(span);
  }

  forceFlush(): Promise<void> {
    return this.batch.forceFlush();
  }

  /** Shutting down: what is still waiting to be exported is lost, and counted so. */
  abandon(): void {
    if (this.pending > 0) this.failed(this.pending, 'not exported before shutting down');
    this.pending = 0;
    this.abandoned = true;
  }

  shutdown(): Promise<void> {
    return this.batch.shutdown();
  }

  private settled(count: number, result: ExportResult): void {
    if (this.abandoned) return;
    this.pending = Math.max(0, this.pending - count);
    if (result.code === ExportResultCode.SUCCESS) {
      if (this.failing) this.log.info('OpenTelemetry spans are exported again', { endpoint: this.endpoint });
      this.failing = false;
      return;
    }
    this.failed(count, result.error?.message);
  }

  private failed(count: number, error: string | undefined): void {
    this.dropped += count;
    if (!this.failing)
      this.log.warn(
        'could not export OpenTelemetry spans; they are dropped and counted (aifd_telemetry_dropped_spans_total)',
        {
          endpoint: this.endpoint,
          error,
        },
      );
    this.failing = true;
  }
}
