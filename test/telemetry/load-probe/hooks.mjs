// Module hooks (they run on Node's loader thread): each resolved URL is appended to $AIFD_LOAD_PROBE.
import { appendFileSync } from 'node:fs';

export async function resolve(specifier, context, next) {
  const resolved = await next(specifier, context);
  appendFileSync(process.env.AIFD_LOAD_PROBE, `${resolved.url}\n`);
  return resolved;
}
