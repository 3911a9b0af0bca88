/** What the request path asks of OpenTelemetry (open-telemetry.ts opens it; otlp.ts does it). */
import type { IncomingHttpHeaders } from 'node:http';
import type { AccessRecord } from '../logs/access-record.js';
import type { ApiKind, ClientApi } from '../usage/api-kind.js';

export interface Telemetry {
  /** The trace of a request that arrived at `startedAt` (performance.now()) with these headers. */
  begin(headers: IncomingHttpHeaders, startedAt: number): RequestTrace;
  /** Spans that could not be exported (the endpoint down, or more queued than it takes). */
  droppedSpans(): number;
  /** Exports what is left, then stops. */
  close(): Promise<void>;
}

/** One request's spans: its own, one per wait for a key, one per upstream attempt. */
export interface RequestTrace {
  /** A wait in the key queue, from `from` to `to` (performance.now()); under a millisecond makes no span. */
  queued(from: number, to: number): void;
  /** An upstream attempt starts now. */
  attempt(facts: AttemptFacts): AttemptTrace;
  /** The request is over: its span gets what its access record says, and the GenAI metrics are recorded. */
  end(record: AccessRecord, facts: RequestFacts): void;
}

export interface AttemptTrace {
  /** The W3C trace context the upstream is sent (a child of the client's, when it sent one). */
  readonly traceparent: string;
  readonly tracestate: string | undefined;
  /** The attempt is over: the upstream's status, or what went wrong. */
  end(status: number | undefined, error: string | undefined): void;
}

export interface AttemptFacts {
  readonly upstream: string;
  readonly baseUrl: string;
  readonly keyHash: string | undefined;
  readonly model: string | undefined;
  /** 1 for the first attempt of the request. */
  readonly attempt: number;
  readonly api: ApiKind;
  /** gen_ai.provider.name: the API the upstream speaks (the convention names its flavour, not who hosts it). */
  readonly provider: ClientApi;
}

/** What the record does not say: the API called, the model asked for, where it went. */
export interface RequestFacts {
  readonly api: ApiKind;
  readonly provider: ClientApi;
  readonly requestModel: string | undefined;
  readonly finishReason: string | undefined;
  readonly responseId: string | undefined;
  /** The base URL of the upstream that answered (server.address and server.port). */
  readonly baseUrl: string | undefined;
}
