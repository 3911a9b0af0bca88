import { AifdError } from '../errors.js';

/** Percent-encodings that could smuggle a separator or a dot segment past a path rule. */
const FORBIDDEN_ENCODINGS = /%(2f|2e|5c|00)/i;
/** Percent-encoded characters that need no encoding: decoded so rules see what the upstream sees. */
const ENCODED_UNRESERVED = /%(3[0-9]|4[1-9a-f]|5[0-9a]|6[1-9a-f]|7[0-9a]|2d|5f|7e)/gi;

/** Anything that could need normalizing or refusing; a path without any of it is already normal. */
// eslint-disable-next-line no-control-regex
const MAYBE_ABNORMAL = /%|\\|\/\/|\/\.|[\u0000-\u001f\u007f]|\/$/;

/**
 * Normalizes the request target before any rule looks at it, and the normalized target is what
 * is forwarded: `//` collapsed, `.` and `..` segments resolved, a trailing `/` dropped, needless
 * percent-encodings decoded. Encoded `/`, `.`, `\` or NUL, backslashes, control characters and
 * `..` above the root are refused.
 */
export function normalizeTarget(target: string): string {
  const queryAt = target.indexOf('?');
  const path = queryAt === -1 ? target : target.slice(0, queryAt);
  if (path.length > 1 && path.startsWith('/') && !MAYBE_ABNORMAL.test(path)) return target;
  return normalizeSlowly(target, queryAt);
}

function normalizeSlowly(target: string, queryAt: number): string {
  const rawPath = queryAt === -1 ? target : target.slice(0, queryAt);
  const query = queryAt === -1 ? '' : target.slice(queryAt);
  if (!rawPath.startsWith('/')) throw invalid('the request path must start with "/"');
  if (FORBIDDEN_ENCODINGS.test(rawPath))
    throw invalid('the request path may not contain encoded "/", ".", "\\" or NUL');
  if (rawPath.includes('\\')) throw invalid('the request path may not contain "\\"');
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f]/.test(rawPath)) throw invalid('the request path may not contain control characters');
  const decoded = rawPath.replace(ENCODED_UNRESERVED, (encoded) => String.fromCharCode(parseInt(encoded.slice(1), 16)));
  const segments: string[] = [];
  for (const segment of decoded.split('/')) {
    if (segment === '' || segment === '.') continue;
    if (segment === '..') {
      if (segments.length === 0) throw invalid('the request path climbs above the root');
      segments.pop();
      continue;
    }
    segments.push(segment);
  }
  return '/' + segments.join('/') + query;
}

function invalid(message: string): AifdError {
  return new AifdError('invalid_path', message);
}
