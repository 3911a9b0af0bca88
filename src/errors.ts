/**
 * The one catalogue of errors aifd itself answers with. Every code has an HTTP status and an
 * OpenAI error `type`, so SDKs raise the matching error class. Adding a code without them does
 * not compile.
 */
export type ErrorCode =
  | 'missing_credentials'
  | 'invalid_api_key'
  | 'malformed_token'
  | 'invalid_token'
  | 'bad_signature'
  | 'token_expired'
  | 'token_not_yet_valid'
  | 'token_revoked'
  | 'address_not_allowed'
  | 'invalid_path'
  | 'path_not_allowed'
  | 'model_not_allowed'
  | 'route_not_found'
  | 'model_not_found'
  | 'model_not_priced'
  | 'invalid_json'
  | 'invalid_request'
  | 'request_too_large'
  | 'rate_limit_exceeded'
  | 'tokens_limit_exceeded'
  | 'budget_exceeded'
  | 'no_key_available'
  | 'upstream_unreachable'
  | 'upstream_bad_response'
  | 'upstream_timeout'
  | 'shutting_down'
  | 'store_unavailable'
  | 'internal_error';

interface CatalogueEntry {
  status: number;
  type: string;
}

const ERROR_CATALOGUE: Record<ErrorCode, CatalogueEntry> = {
  missing_credentials: { status: 401, type: 'invalid_request_error' },
  invalid_api_key: { status: 401, type: 'invalid_request_error' },
  malformed_token: { status: 401, type: 'invalid_request_error' },
  invalid_token: { status: 401, type: 'invalid_request_error' },
  bad_signature: { status: 401, type: 'invalid_request_error' },
  token_expired: { status: 401, type: 'invalid_request_error' },
  token_not_yet_valid: { status: 401, type: 'invalid_request_error' },
  token_revoked: { status: 401, type: 'invalid_request_error' },
  address_not_allowed: { status: 403, type: 'permission_error' },
  invalid_path: { status: 400, type: 'invalid_request_error' },
  path_not_allowed: { status: 403, type: 'permission_error' },
  model_not_allowed: { status: 403, type: 'permission_error' },
  route_not_found: { status: 404, type: 'invalid_request_error' },
  model_not_found: { status: 404, type: 'invalid_request_error' },
  model_not_priced: { status: 403, type: 'permission_error' },
  invalid_json: { status: 400, type: 'invalid_request_error' },
  invalid_request: { status: 400, type: 'invalid_request_error' },
  request_too_large: { status: 413, type: 'invalid_request_error' },
  rate_limit_exceeded: { status: 429, type: 'requests' },
  tokens_limit_exceeded: { status: 429, type: 'tokens' },
  budget_exceeded: { status: 429, type: 'insufficient_quota' },
  no_key_available: { status: 429, type: 'requests' },
  upstream_unreachable: { status: 502, type: 'server_error' },
  upstream_bad_response: { status: 502, type: 'server_error' },
  upstream_timeout: { status: 504, type: 'server_error' },
  shutting_down: { status: 503, type: 'server_error' },
  store_unavailable: { status: 503, type: 'server_error' },
  internal_error: { status: 500, type: 'server_error' },
};

export interface AifdErrorOptions {
  param?: string | null;
  /** Seconds the client should wait before trying again (sent as Retry-After). */
  retryAfterSec?: number;
  headers?: Record<string, string>;
  cause?: unknown;
}

export class AifdError extends Error {
  readonly code: ErrorCode;
  readonly status: number;
  readonly type: string;
  readonly param: string | null;
  readonly retryAfterSec: number | undefined;
  readonly headers: Record<string, string>;

  constructor(code: ErrorCode, message: string, options: AifdErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'AifdError';
    this.code = code;
    this.status = ERROR_CATALOGUE[code].status;
    this.type = ERROR_CATALOGUE[code].type;
    this.param = options.param ?? null;
    this.retryAfterSec = options.retryAfterSec;
    this.headers = options.headers ?? {};
  }
}

/** The body OpenAI sends for errors: `{"error":{"message","type","param","code"}}`. */
export function openAIErrorBody(err: AifdError): string {
  return JSON.stringify({
    error: { message: err.message, type: err.type, param: err.param, code: err.code },
  });
}

/**
 * Anthropic's error types by status (docs.claude.com/en/api/errors, read 2026-12-07: 400, 401,
 * 403, 404, 413, 429, 500 and 529 have their own); aifd's own status is kept, so a client's SDK
 * raises the class it would for Anthropic's own answer. 502 and 504 are server trouble (api_error);
 * 503, aifd shutting down or its store away, is as good as overloaded.
 */
const ANTHROPIC_TYPES: Record<number, string> = {
  400: 'invalid_request_error',
  401: 'authentication_error',
  403: 'permission_error',
  404: 'not_found_error',
  413: 'request_too_large',
  429: 'rate_limit_error',
  500: 'api_error',
  502: 'api_error',
  503: 'overloaded_error',
  504: 'api_error',
};

/** The body Anthropic sends for errors: `{"type":"error","error":{"type","message"}}`. */
export function anthropicErrorBody(err: AifdError): string {
  return JSON.stringify({
    type: 'error',
    error: { type: ANTHROPIC_TYPES[err.status] ?? 'api_error', message: err.message },
  });
}

/** aifd's own error as a body in the shape of the API the client speaks. */
export function errorBodyFor(api: 'openai' | 'anthropic', err: AifdError): string {
  return api === 'anthropic' ? anthropicErrorBody(err) : openAIErrorBody(err);
}

/** aifd's own error inside a Realtime session, as OpenAI's `error` server event. */
export function realtimeErrorEvent(err: AifdError, eventId: string): string {
  return JSON.stringify({
    type: 'error',
    event_id: eventId,
    error: { type: err.type, code: err.code, message: err.message, param: err.param, event_id: null },
  });
}

/** A request body that is not the JSON it says it is (wherever aifd finds out). */
export function invalidJson(): AifdError {
  return new AifdError('invalid_json', 'the request body is not valid JSON');
}

export function isAifdError(value: unknown): value is AifdError {
  return value instanceof AifdError;
}
