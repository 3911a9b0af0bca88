import { AifdError } from '../errors.js';

/** What aifd needs to know from a request body, read once. */
export interface BodyInfo {
  /** The parsed JSON object, when the body is JSON. */
  json: Record<string, unknown> | undefined;
  model: string | undefined;
  stream: boolean;
}

const NONE: BodyInfo = { json: undefined, model: undefined, stream: false };

/**
 * Reads `model` and `stream` from a JSON body. Non-JSON bodies (multipart uploads, binary) are not
 * parsed and go upstream untouched. A body that says it is JSON but is not is refused with 400.
 */
export function inspectBody(contentType: string | undefined, body: Buffer): BodyInfo {
  if (body.length === 0 || !contentType || !isJson(contentType)) return NONE;
  let parsed: unknown;
  try {
    parsed = JSON.parse(body.toString('utf8'));
  } catch {
    throw new AifdError('invalid_json', 'the request body is not valid JSON');
  }
  if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) {
    return NONE;
  }
  const json = parsed as Record<string, unknown>;
  const model = json.model;
  if (model !== undefined && typeof model !== 'string') {
    throw new AifdError('invalid_request', `'model' must be a string, not ${typeOf(model)}`, { param: 'model' });
  }
  const stream = json.stream;
  if (stream !== undefined && stream !== null && typeof stream !== 'boolean') {
    throw new AifdError('invalid_request', `'stream' must be a boolean, not ${typeOf(stream)}`, { param: 'stream' });
  }
  return { json, model, stream: stream === true };
}

function isJson(contentType: string): boolean {
  const base = contentType.split(';', 1)[0]!.trim().toLowerCase();
  return base === 'application/json' || base.endsWith('+json');
}

function typeOf(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  return `a ${typeof value}`;
}
