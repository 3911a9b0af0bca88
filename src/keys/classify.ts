/** How an upstream answer reflects on the key that made it. */
export type KeyVerdict =
  /** The key worked (2xx, or a 4xx that is the request's fault). */
  | 'ok'
  /** 401: the key is wrong or was revoked upstream. */
  | 'revoked'
  /** 429 insufficient_quota: the key's account is out of money. */
  | 'over_quota'
  /** 429 of any other kind. */
  | 'rate_limited'
  /** 5xx. */
  | 'server_error'
  /** Connect error or timeout: no answer at all. */
  | 'unreachable';

export function verdictForStatus(status: number, errorCode?: string): KeyVerdict {
  if (status === 401) return 'revoked';
  if (status === 429) return errorCode === 'insufficient_quota' ? 'over_quota' : 'rate_limited';
  if (status >= 500) return 'server_error';
  return 'ok';
}

/** The verdict for an error that came without a status of its own (inside a 200 stream). */
export function verdictForErrorCode(code: string): KeyVerdict {
  if (code === 'invalid_api_key' || code === 'authentication_error') return 'revoked';
  if (code === 'insufficient_quota') return 'over_quota';
  if (code.startsWith('rate_limit') || code === 'requests' || code === 'tokens') return 'rate_limited';
  if (
    code === 'server_error' ||
    code === 'api_error' ||
    code === 'stream_error' ||
    code === 'overloaded_error' ||
    code === 'service_unavailable'
  )
    return 'server_error';
  return 'ok';
}

/** The `code` (or `type`) of an OpenAI error body, if the bytes are one. */
export function errorCodeOf(body: Buffer | string | undefined): string | undefined {
  if (!body || body.length === 0) return undefined;
  try {
    const parsed = JSON.parse(typeof body === 'string' ? body : body.toString('utf8')) as {
      error?: { code?: unknown; type?: unknown };
    };
    const error = parsed?.error;
    if (!error || typeof error !== 'object') return undefined;
    if (typeof error.code === 'string') return error.code;
    return typeof error.type === 'string' ? error.type : undefined;
  } catch {
    return undefined;
  }
}
