/**
 * A request as OpenTelemetry's GenAI semantic conventions name it (semantic-conventions v1.41.0,
 * docs/gen-ai/gen-ai-spans.md and gen-ai-metrics.md, read 2026-12-07): attribute names, operation
 * names, span names, and the metrics' bucket boundaries; plus aifd's own attributes under `aifd.`.
 * Pure: the SDK glue is in otlp.ts.
 */
import type { AccessRecord } from '../logs/access-record.js';
import type { ApiKind } from '../usage/api-kind.js';
import type { AttemptFacts, RequestFacts } from './telemetry.js';

export type Attributes = Record<string, string | number | boolean | string[]>;

/** gen_ai.operation.name's well-known values; Realtime sessions have none, so theirs is our own. */
const OPERATIONS: Record<ApiKind, string | undefined> = {
  chat: 'chat',
  responses: 'chat',
  completions: 'text_completion',
  embeddings: 'embeddings',
  realtime: 'realtime',
  messages: 'chat',
  other: undefined,
};

export function operationName(api: ApiKind): string | undefined {
  return OPERATIONS[api];
}

/** server.address and server.port of an upstream's base URL. */
function serverOf(baseUrl: string | undefined): Attributes {
  if (!baseUrl) return {};
  try {
    const url = new URL(baseUrl);
    const port = url.port ? Number(url.port) : url.protocol === 'https:' ? 443 : 80;
    return { 'server.address': url.hostname, 'server.port': port };
  } catch {
    return {};
  }
}

/** "{operation} {model}" for a model call, "{method} {path}" for the rest. */
export function requestSpanName(
  method: string,
  path: string,
  facts: Pick<RequestFacts, 'api' | 'requestModel'>,
): string {
  const operation = operationName(facts.api);
  if (operation) return facts.requestModel ? `${operation} ${facts.requestModel}` : operation;
  return `${method} ${path}`;
}

/** The error a request ended with, as error.type: aifd's or the upstream's code, else the status. */
export function errorType(record: Pick<AccessRecord, 'status' | 'error'>): string | undefined {
  if (record.error) return record.error;
  if (record.status === null) return 'no_answer';
  return record.status >= 400 ? String(record.status) : undefined;
}

/** The request span's attributes, from its access record; never a key, only its hash. */
export function requestAttributes(record: AccessRecord, facts: RequestFacts): Attributes {
  const attributes: Attributes = {
    'http.request.method': record.method,
    'url.path': record.path,
    'client.address': record.ip,
    'aifd.request.id': record.id,
    'aifd.attempts': record.attempts,
    'aifd.stream': record.stream,
  };
  if (record.status !== null) attributes['http.response.status_code'] = record.status;
  Object.assign(attributes, modelCallAttributes(facts.api, facts.provider, facts.requestModel, facts.baseUrl));
  optional(attributes, 'gen_ai.response.model', record.model);
  optional(attributes, 'gen_ai.response.id', facts.responseId);
  if (facts.finishReason) attributes['gen_ai.response.finish_reasons'] = [facts.finishReason];
  if (record.usage) {
    attributes['gen_ai.usage.input_tokens'] = record.usage.prompt_tokens;
    attributes['gen_ai.usage.output_tokens'] = record.usage.completion_tokens;
    optional(attributes, 'aifd.usage.cached_tokens', record.usage.cached_tokens);
    optional(attributes, 'aifd.usage.source', record.usageSource);
  }
  optional(attributes, 'error.type', errorType(record));
  optional(attributes, 'aifd.user', record.user);
  optional(attributes, 'aifd.route', record.route);
  optional(attributes, 'aifd.upstream', record.upstream);
  optional(attributes, 'aifd.key.hash', record.key);
  optional(attributes, 'aifd.model.alias', record.alias);
  optional(attributes, 'aifd.cache', record.cache);
  return attributes;
}

/** An upstream attempt's attributes when it starts. */
export function attemptAttributes(facts: AttemptFacts): Attributes {
  const attributes: Attributes = {
    'aifd.upstream': facts.upstream,
    'aifd.attempt': facts.attempt,
    ...modelCallAttributes(facts.api, facts.provider, facts.model, facts.baseUrl),
  };
  optional(attributes, 'aifd.key.hash', facts.keyHash);
  return attributes;
}

/**
 * What names a model call in the spans and the metrics alike: the operation and provider (for
 * calls of a GenAI API), the model asked for, and the server.
 */
export function modelCallAttributes(
  api: ApiKind,
  provider: string,
  model: string | undefined,
  baseUrl: string | undefined,
): Attributes {
  const attributes: Attributes = serverOf(baseUrl);
  const operation = operationName(api);
  if (operation) {
    attributes['gen_ai.operation.name'] = operation;
    attributes['gen_ai.provider.name'] = provider;
  }
  optional(attributes, 'gen_ai.request.model', model);
  return attributes;
}

/** gen_ai.client.token.usage: [1, 4, 16, …, 67108864] tokens. */
export const TOKEN_BUCKETS = Array.from({ length: 14 }, (_, i) => 4 ** i);
/** gen_ai.client.operation.duration: [0.01, 0.02, …, 81.92] s. */
export const DURATION_BUCKETS = Array.from({ length: 14 }, (_, i) => Math.round(0.01 * 2 ** i * 100) / 100);
/** gen_ai.server.time_to_first_token, in s. */
export const FIRST_TOKEN_BUCKETS = [
  0.001, 0.005, 0.01, 0.02, 0.04, 0.06, 0.08, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10,
];

function optional(attributes: Attributes, name: string, value: string | number | null | undefined): void {
  if (value !== undefined && value !== null) attributes[name] = value;
}
