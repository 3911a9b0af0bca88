/** The recorded OpenAI answers in test/fixtures/openai (see SOURCES.md there), read once. */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import path from 'node:path';

const FIXTURE_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../fixtures/openai');

const cache = new Map<string, Buffer>();

/** The exact bytes of a fixture file, e.g. `chat-completion.json` or `errors/401-invalid_api_key.json`. */
export function fixture(name: string): Buffer {
  let bytes = cache.get(name);
  if (!bytes) {
    bytes = readFileSync(path.join(FIXTURE_DIR, name));
    cache.set(name, bytes);
  }
  return bytes;
}

export function fixtureJson<T = unknown>(name: string): T {
  return JSON.parse(fixture(name).toString('utf8')) as T;
}

/** The recorded error bodies by the name tests use to script them. */
export const ERROR_FIXTURES = {
  invalid_api_key: { status: 401, file: 'errors/401-invalid_api_key.json' },
  insufficient_quota: { status: 429, file: 'errors/429-insufficient_quota.json' },
  rate_limit_requests: { status: 429, file: 'errors/429-rate_limit_exceeded-requests.json' },
  rate_limit_tokens: { status: 429, file: 'errors/429-rate_limit_exceeded-tokens.json' },
  server_error: { status: 500, file: 'errors/500-server_error.json' },
  context_length_exceeded: { status: 400, file: 'errors/400-context_length_exceeded.json' },
  model_not_found: { status: 404, file: 'errors/404-model_not_found-chat.json' },
} as const;

export type ErrorFixtureName = keyof typeof ERROR_FIXTURES;
