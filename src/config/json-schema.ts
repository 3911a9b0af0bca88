import { z } from 'zod';
import { hubConfigSchema } from './schema.js';

/** The config's JSON Schema (for editors), generated from the one schema so it cannot drift. */
export function configJsonSchema(): Record<string, unknown> {
  return z.toJSONSchema(hubConfigSchema, { io: 'input', unrepresentable: 'any' }) as Record<string, unknown>;
}
