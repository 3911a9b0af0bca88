/**
 * What aifd needs to know from a request: `model` and `stream`, read once, from the body by its
 * real media type (JSON with any parameters, multipart forms) or from the path where the API puts
 * the model. Bodies are never changed here, and a JSON body is not parsed whole (json-body.ts).
 */
import type busboy from 'busboy';
import { Readable } from 'node:stream';
import { AifdError, invalidJson } from '../errors.js';
import { scanTopLevel } from '../util/json-spans.js';
import { JsonBody } from './json-body.js';

export interface BodyInfo {
  /** The body, when it is a JSON object. */
  json: JsonBody | undefined;
  model: string | undefined;
  stream: boolean;
  /** The request carries a body, but no model could be read from it (rules on models then deny). */
  modelUnknown: boolean;
}

export const NO_BODY: BodyInfo = Object.freeze({
  json: undefined,
  model: undefined,
  stream: false,
  modelUnknown: false,
});

/** A WebSocket handshake has no body: a Realtime session names its model in the query. */
export function sessionInfo(path: string): BodyInfo {
  const queryAt = path.indexOf('?');
  const model = queryAt === -1 ? null : new URLSearchParams(path.slice(queryAt + 1)).get('model');
  return { ...NO_BODY, model: model ?? undefined, stream: true };
}

/** Synchronous but for multipart forms, which are parsed as a stream. */
export function inspectBody(contentType: string | undefined, body: Buffer, path: string): BodyInfo | Promise<BodyInfo> {
  const fromPath = modelFromPath(path);
  if (body.length === 0) return fromPath === undefined ? NO_BODY : { ...NO_BODY, model: fromPath };
  const media = mediaType(contentType);
  if (media === 'multipart/form-data')
    return fromMultipart(contentType!, body).then((info) => withModelFromPath(info, fromPath));
  let info: BodyInfo;
  if (media === 'application/json' || media.endsWith('+json')) info = fromJson(body, true);
  // Anything else is read as JSON only if it is an object (the scan says so at its first byte).
  else info = fromJson(body, false);
  return withModelFromPath(info, fromPath);
}

function withModelFromPath(info: BodyInfo, fromPath: string | undefined): BodyInfo {
  return info.model === undefined && fromPath !== undefined ? { ...info, model: fromPath, modelUnknown: false } : info;
}

const MODEL_IN_PATH = /^(\/(?:v1\/models|openai\/deployments)\/)([^/?]+)/;

/** `/v1/models/{model}` and Azure-style `/openai/deployments/{deployment}/…`. */
export function modelFromPath(path: string): string | undefined {
  const match = MODEL_IN_PATH.exec(path);
  if (!match) return undefined;
  try {
    return decodeURIComponent(match[2]!);
  } catch {
    return match[2];
  }
}

/** The same path naming another model (unchanged when the path names none). */
export function withPathModel(path: string, model: string): string {
  return path.replace(MODEL_IN_PATH, (_all, head: string) => head + encodeURIComponent(model));
}

function mediaType(contentType: string | undefined): string {
  return (contentType ?? '').split(';', 1)[0]!.trim().toLowerCase();
}

function fromJson(body: Buffer, declared: boolean): BodyInfo {
  const scan = scanTopLevel(body);
  if (scan.kind !== 'object') {
    if (declared && (scan.kind === 'invalid' || !parses(body))) throw invalidJson();
    return { ...NO_BODY, modelUnknown: true };
  }
  // Parsers disagree on which duplicate wins; the one checked must be the one used.
  if (scan.duplicated.has('model'))
    throw new AifdError('invalid_request', "'model' appears more than once in the request body", { param: 'model' });
  const json = new JsonBody(body, scan.members);
  let model: unknown;
  let stream: unknown;
  try {
    model = json.get('model');
    stream = json.get('stream');
  } catch (err) {
    if (!declared) return { ...NO_BODY, modelUnknown: true };
    throw err;
  }
  if (model !== undefined && typeof model !== 'string') {
    throw new AifdError('invalid_request', `'model' must be a string, not ${typeOf(model)}`, { param: 'model' });
  }
  if (stream !== undefined && stream !== null && typeof stream !== 'boolean') {
    throw new AifdError('invalid_request', `'stream' must be a boolean, not ${typeOf(stream)}`, { param: 'stream' });
  }
  return { json, model, stream: stream === true, modelUnknown: model === undefined };
}

/** For a body that is not an object: whether it is JSON at all (rare, so parsed the plain way). */
function parses(body: Buffer): boolean {
  try {
    JSON.parse(body.toString('utf8'));
    return true;
  } catch {
    return false;
  }
}

/** The `model` field of a multipart form (audio transcriptions, image edits), read with busboy. */
async function fromMultipart(contentType: string, body: Buffer): Promise<BodyInfo> {
  const { default: parseForm } = await import('busboy');
  return new Promise((resolve) => {
    let model: string | undefined;
    let parser: busboy.Busboy;
    try {
      parser = parseForm({ headers: { 'content-type': contentType }, limits: { fieldSize: 1024 } });
    } catch {
      resolve({ ...NO_BODY, modelUnknown: true });
      return;
    }
    parser.on('field', (name, value) => {
      if (name === 'model') model = model === undefined ? value : '\u0000duplicate';
    });
    parser.on('file', (_name, stream) => stream.resume());
    parser.on('close', () => {
      if (model === '\u0000duplicate') resolve({ ...NO_BODY, modelUnknown: true });
      else resolve({ json: undefined, model, stream: false, modelUnknown: model === undefined });
    });
    parser.on('error', () => resolve({ ...NO_BODY, modelUnknown: true }));
    Readable.from([body]).pipe(parser);
  });
}

function typeOf(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  return `a ${typeof value}`;
}
