/** The field kinds the config schema is built of: durations, sizes, rates, URLs, paths. */
import { z } from 'zod';
import { parseBytes } from '../util/bytes.js';
import { parseDuration } from '../util/duration.js';
import { parseRateString } from './rate-string.js';

/** A string or number field turned into a number by `parse`, or an error that shows an example. */
const parsedNumber = (parse: (value: string | number) => number | undefined, kind: string) => (description: string) =>
  z
    .union([z.string(), z.number()])
    .describe(description)
    .transform((value, ctx) => {
      const parsed = parse(value);
      if (parsed === undefined) {
        ctx.addIssue({ code: 'custom', message: `"${value}" is not ${kind}` });
        return z.NEVER;
      }
      return parsed;
    });

export const durationMs = parsedNumber(parseDuration, 'a duration (e.g. 500ms, 30s, 15m, 1h, 7d)');

/** Node fires a timer longer than 2^31-1 ms (about 24.8 days) after 1 ms, with only a warning. */
const LONGEST_TIMER_MS = 24 * 86_400_000;

/** A duration that aifd waits out with a timer: at most 24 days. */
export const timerMs = (description: string) =>
  durationMs(description).refine((ms) => ms <= LONGEST_TIMER_MS, 'must be at most 24d (the longest a timer can wait)');
export const timerMsNumber = z
  .number()
  .int()
  .positive()
  .max(LONGEST_TIMER_MS, 'must be at most 24 days in ms (the longest a timer can wait)');
export const byteSize = parsedNumber(parseBytes, 'a size (e.g. 512kb, 25mb)');

export const rate = (description: string) =>
  z
    .string()
    .describe(description)
    .superRefine((value, ctx) => {
      try {
        parseRateString(value);
      } catch (err) {
        ctx.addIssue({ code: 'custom', message: (err as Error).message });
      }
    });

export const port = z.number().int().min(0).max(65535);
export const stringList = z.array(z.string().min(1));

export const httpUrl = z
  .string()
  .describe('http(s) URL of the upstream, optionally with a path prefix')
  .superRefine((value, ctx) => {
    let url: URL;
    try {
      url = new URL(value);
    } catch {
      ctx.addIssue({ code: 'custom', message: `"${value}" is not a URL (expected e.g. https://api.openai.com)` });
      return;
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') {
      ctx.addIssue({ code: 'custom', message: `"${value}" must start with http:// or https://` });
    }
  });

/**
 * Clients send `/v1/...` themselves, so an upstream URL written the SDK way (`http://host:9101/v1`,
 * `https://openrouter.ai/api/v1`) loses its trailing `/v1` (and slashes); with a config file or without.
 */
export function withoutApiVersion(url: string): string {
  return url.replace(/\/+$/, '').replace(/\/v1$/i, '');
}

export const outboundProxyUrl = z.string().superRefine((value, ctx) => {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    ctx.addIssue({
      code: 'custom',
      message: `"${value.replace(/\/\/[^@/]*@/, '//…@')}" is not a proxy URL (expected e.g. http://proxy.internal:3128)`,
    });
    return;
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:')
    ctx.addIssue({ code: 'custom', message: 'a proxy URL must start with http:// or https://' });
});

export const routePrefix = z
  .string()
  .regex(/^\/[^\s?#]*$/, 'must be a path starting with "/" (e.g. "/" or "/local")')
  .transform((value) => (value.length > 1 ? value.replace(/\/+$/, '') : value));
