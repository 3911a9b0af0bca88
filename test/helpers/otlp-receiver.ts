/**
 * An OTLP/HTTP receiver for tests, a real server on 127.0.0.1: it decodes what aifd exports
 * (protobuf, with the decoders the official @opentelemetry/otlp-transformer package ships) into
 * plain spans and metric points, and keeps every raw body for secret scans.
 */
import { EventEmitter, once } from 'node:events';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { createRequire } from 'node:module';

/** The parts of OTLP's messages read here (the generated decoders come without types). */
interface KeyValue {
  key?: string | null;
  value?: Any | null;
}
interface TraceRequest {
  resourceSpans?: {
    resource?: { attributes?: KeyValue[] | null } | null;
    scopeSpans?: {
      spans?: {
        traceId?: Uint8Array | null;
        spanId?: Uint8Array | null;
        parentSpanId?: Uint8Array | null;
        name?: string | null;
        kind?: number | null;
        startTimeUnixNano?: unknown;
        endTimeUnixNano?: unknown;
        attributes?: KeyValue[] | null;
        status?: { code?: number | null } | null;
      }[];
    }[];
  }[];
}
interface MetricsRequest {
  resourceMetrics?: {
    scopeMetrics?: {
      metrics?: {
        name?: string | null;
        unit?: string | null;
        histogram?: {
          dataPoints?: {
            attributes?: KeyValue[] | null;
            count?: unknown;
            sum?: number | null;
            explicitBounds?: number[];
          }[];
        } | null;
      }[];
    }[];
  }[];
}
interface Decoder<T> {
  decode(body: Uint8Array): T;
}
const require = createRequire(import.meta.url);
const protos = require('@opentelemetry/otlp-transformer/build/src/generated/root.js') as {
  opentelemetry: {
    proto: {
      collector: {
        trace: { v1: { ExportTraceServiceRequest: Decoder<TraceRequest> } };
        metrics: { v1: { ExportMetricsServiceRequest: Decoder<MetricsRequest> } };
      };
    };
  };
};
const { ExportTraceServiceRequest } = protos.opentelemetry.proto.collector.trace.v1;
const { ExportMetricsServiceRequest } = protos.opentelemetry.proto.collector.metrics.v1;

type AttributeValue = string | number | boolean | AttributeValue[] | undefined;

export interface ReceivedSpan {
  traceId: string;
  spanId: string;
  /** '' for a root span. */
  parentSpanId: string;
  name: string;
  /** 1 internal, 2 server, 3 client (OTLP's SpanKind). */
  kind: number;
  startNs: bigint;
  endNs: bigint;
  attributes: Record<string, AttributeValue>;
  /** 0 unset, 1 ok, 2 error. */
  statusCode: number;
  resource: Record<string, AttributeValue>;
}

export interface ReceivedPoint {
  metric: string;
  unit: string;
  attributes: Record<string, AttributeValue>;
  count: number;
  sum: number;
  bounds: number[];
}

interface Any {
  stringValue?: string | null;
  boolValue?: boolean | null;
  intValue?: number | { toNumber(): number } | null;
  doubleValue?: number | null;
  arrayValue?: { values?: Any[] | null } | null;
}

function attributeValue(value: Any | null | undefined): AttributeValue {
  if (!value) return undefined;
  if (value.stringValue !== null && value.stringValue !== undefined) return value.stringValue;
  if (value.boolValue !== null && value.boolValue !== undefined) return value.boolValue;
  if (value.intValue !== null && value.intValue !== undefined)
    return typeof value.intValue === 'number' ? value.intValue : value.intValue.toNumber();
  if (value.doubleValue !== null && value.doubleValue !== undefined) return value.doubleValue;
  if (value.arrayValue) return (value.arrayValue.values ?? []).map(attributeValue);
  return undefined;
}

function attributesOf(list: KeyValue[] | null | undefined) {
  const out: Record<string, AttributeValue> = {};
  for (const { key, value } of list ?? []) if (key) out[key] = attributeValue(value);
  return out;
}

const hex = (bytes: Uint8Array | null | undefined) => Buffer.from(bytes ?? []).toString('hex');
const big = (value: unknown) => BigInt(String(value ?? 0));
const num = (value: unknown) => Number(String(value ?? 0));

export class OtlpReceiver extends EventEmitter {
  readonly spans: ReceivedSpan[] = [];
  readonly points: ReceivedPoint[] = [];
  /** Every body as it arrived, and its request headers. */
  readonly bodies: Buffer[] = [];
  readonly headers: http.IncomingHttpHeaders[] = [];
  private server: http.Server | undefined;
  url = '';

  async start(): Promise<this> {
    this.server = http.createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (chunk: Buffer) => chunks.push(chunk));
      req.on('end', () => {
        const body = Buffer.concat(chunks);
        this.bodies.push(body);
        this.headers.push(req.headers);
        if (req.url === '/v1/traces') this.takeSpans(body);
        else if (req.url === '/v1/metrics') this.takeMetrics(body);
        res.writeHead(200, { 'content-type': 'application/x-protobuf' }).end();
        this.emit('export');
      });
    });
    this.server.listen(0, '127.0.0.1');
    await once(this.server, 'listening');
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    return this;
  }

  /** Resolves once `check` holds over what arrived (checked after each export). */
  async until(check: (receiver: this) => boolean): Promise<void> {
    while (!check(this)) await once(this, 'export');
  }

  close(): Promise<void> {
    return new Promise((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }

  private takeSpans(body: Buffer): void {
    const request = ExportTraceServiceRequest.decode(body);
    for (const batch of request.resourceSpans ?? []) {
      const resource = attributesOf(batch.resource?.attributes);
      for (const scope of batch.scopeSpans ?? [])
        for (const span of scope.spans ?? [])
          this.spans.push({
            traceId: hex(span.traceId),
            spanId: hex(span.spanId),
            parentSpanId: hex(span.parentSpanId),
            name: span.name ?? '',
            kind: span.kind ?? 0,
            startNs: big(span.startTimeUnixNano),
            endNs: big(span.endTimeUnixNano),
            attributes: attributesOf(span.attributes),
            statusCode: span.status?.code ?? 0,
            resource,
          });
    }
  }

  private takeMetrics(body: Buffer): void {
    const request = ExportMetricsServiceRequest.decode(body);
    for (const batch of request.resourceMetrics ?? [])
      for (const scope of batch.scopeMetrics ?? [])
        for (const metric of scope.metrics ?? [])
          for (const point of metric.histogram?.dataPoints ?? [])
            this.points.push({
              metric: metric.name ?? '',
              unit: metric.unit ?? '',
              attributes: attributesOf(point.attributes),
              count: num(point.count),
              sum: point.sum ?? 0,
              bounds: point.explicitBounds ?? [],
            });
  }
}
