import { parseDuration } from './duration.js';

/** A point in time from the command line: an ISO date or datetime, or a duration back from now (`7d`). */
export function parseTimeArg(text: string, now = Date.now()): Date | undefined {
  const back = parseDuration(text);
  if (back !== undefined && /[a-z]$/i.test(text.trim())) return new Date(now - back);
  const at = Date.parse(text);
  return Number.isNaN(at) ? undefined : new Date(at);
}
