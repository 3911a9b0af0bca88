/**
 * Finds, reads, interpolates, validates and freezes the config. Errors are ConfigError: one line
 * naming the file, the field path inside it and what is wrong.
 */
import path from 'node:path';
import { cosmiconfig } from 'cosmiconfig';
import type { z } from 'zod';
import { hubConfigSchema, type HubConfig } from './schema.js';
import { formatPath, interpolateEnv } from './interpolate.js';
import { ConfigError } from './config-error.js';
import { loadEnvFile, type LoadedEnvFile } from './env-file.js';
import { configFromOpenaiForward, OPENAI_FORWARD_VARIABLES } from './openai-forward.js';

export { ConfigError };

const CONFIG_SEARCH_PLACES = [
  'package.json',
  'hub.config.json',
  '.aifdrc',
  '.aifdrc.json',
  '.aifdrc.yaml',
  '.aifdrc.yml',
  '.aifdrc.js',
  '.aifdrc.mjs',
  '.aifdrc.cjs',
  'aifd.config.json',
  'aifd.config.yaml',
  'aifd.config.yml',
  'aifd.config.js',
  'aifd.config.mjs',
  'aifd.config.cjs',
];

export interface LoadedConfig {
  config: HubConfig;
  /** Absolute path of the file read, or undefined when aifd runs on defaults. */
  file: string | undefined;
  /** The `.env` file read, and the variables it set. */
  envFile?: LoadedEnvFile;
  /** Without a file: the openai-forward variables the config was made from. */
  fromVariables: string[];
  /** With a file: the openai-forward variables that are set but not used (the file wins). */
  ignoredVariables: string[];
  /** What was carried over only approximately. */
  notes: string[];
  /** Where each top-level part of the config came from. */
  origins: Record<string, 'file' | 'environment' | 'default'>;
}

export interface LoadOptions {
  /** Explicit file (`--config`); falls back to AIFD_CONFIG, then a search of `cwd`. */
  configPath?: string;
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  /** CLI flags that override the file. */
  overrides?: { host?: string; port?: number; adminPort?: number; workers?: number | 'auto' };
  /** A `.env` file to read (`--env-file`); else `./.env` when present. */
  envFile?: string;
}

export async function loadConfig(options: LoadOptions = {}): Promise<LoadedConfig> {
  const env = options.env ?? process.env;
  const cwd = options.cwd ?? process.cwd();
  const envFile = await loadEnvFile(env, cwd, options.envFile ?? env.AIFD_ENV_FILE);
  const explicit = options.configPath ?? env.AIFD_CONFIG;
  const found = await readConfigFile(explicit ? path.resolve(cwd, explicit) : undefined, cwd);
  const fromEnv = found ? undefined : configFromOpenaiForward(env);
  const raw = found ? found.raw : fromEnv!.config;
  const label = found
    ? path.relative(cwd, found.file) || found.file
    : fromEnv!.used.length > 0
      ? 'environment'
      : '(built-in defaults)';

  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) {
    throw new ConfigError(label, '', 'the config must be a JSON object');
  }
  const interpolatedPaths = new Set<string>();
  const interpolated = interpolateEnv(
    raw,
    env,
    (fieldPath, problem) => new ConfigError(label, fieldPath, problem),
    interpolatedPaths,
  );
  const withOverrides = applyOverrides(interpolated as Record<string, unknown>, options.overrides);
  const config = validate(withOverrides, label, interpolatedPaths);
  resolvePaths(config, found ? path.dirname(found.file) : cwd);
  const rawParts = raw as Record<string, unknown>;
  const origins: LoadedConfig['origins'] = {};
  for (const part of Object.keys(config))
    origins[part] = part in rawParts ? (found ? 'file' : 'environment') : 'default';
  return {
    config: deepFreeze(config),
    file: found?.file,
    envFile,
    fromVariables: fromEnv?.used ?? [],
    ignoredVariables: found
      ? OPENAI_FORWARD_VARIABLES.filter((name) => env[name]?.trim() && !JSON.stringify(found.raw).includes(name))
      : [],
    notes: fromEnv?.notes ?? [],
    origins,
  };
}

/**
 * Validates an already-read object (used by reload and by tests). A value that came from an
 * environment variable (`fromEnv`, its paths) is always a string; where the field wants a boolean
 * or a number, the string is read as one ("true", "8000"), or named precisely when it is neither.
 */
export function validate(raw: unknown, label: string, fromEnv: ReadonlySet<string> = new Set()): HubConfig {
  for (;;) {
    const result = hubConfigSchema.safeParse(raw);
    if (result.success) return result.data;
    if (!convertFromEnv(raw, result.error, fromEnv, label)) throw toConfigError(result.error, label);
  }
}

/** Converts, in place, the strings from variables that the schema wanted as booleans or numbers; false when there were none. */
function convertFromEnv(raw: unknown, error: z.ZodError, fromEnv: ReadonlySet<string>, label: string): boolean {
  let converted = false;
  for (const issue of error.issues) {
    if (issue.code !== 'invalid_type' || (issue.expected !== 'boolean' && issue.expected !== 'number')) continue;
    const where = formatPath(issue.path);
    const parent = issue.path
      .slice(0, -1)
      .reduce<unknown>((node, key) => (node as Record<PropertyKey, unknown> | undefined)?.[key], raw) as
      | Record<PropertyKey, unknown>
      | undefined;
    const key = issue.path.at(-1)!;
    const text = parent?.[key];
    if (!fromEnv.has(where) || typeof text !== 'string') continue;
    const value = issue.expected === 'boolean' ? readBoolean(text) : readNumber(text);
    if (value === undefined) {
      const wanted = issue.expected === 'boolean' ? 'a boolean (true or false)' : 'a number';
      const shown = text.length <= 16 ? `"${text}"` : 'the value';
      throw new ConfigError(label, where, `${shown} (from the environment) is not ${wanted}`);
    }
    parent![key] = value;
    converted = true;
  }
  return converted;
}

function readBoolean(text: string): boolean | undefined {
  const value = text.trim().toLowerCase();
  return value === 'true' ? true : value === 'false' ? false : undefined;
}

function readNumber(text: string): number | undefined {
  if (text.trim() === '') return undefined;
  const value = Number(text);
  return Number.isFinite(value) ? value : undefined;
}

async function readConfigFile(
  explicit: string | undefined,
  cwd: string,
): Promise<{ raw: unknown; file: string } | undefined> {
  const explorer = cosmiconfig('aifd', { searchPlaces: CONFIG_SEARCH_PLACES, cache: false, searchStrategy: 'none' });
  try {
    const result = explicit ? await explorer.load(explicit) : await explorer.search(cwd);
    if (!result) return undefined;
    if (result.isEmpty)
      throw new ConfigError(path.relative(cwd, result.filepath) || result.filepath, '', 'the file is empty');
    return { raw: result.config, file: result.filepath };
  } catch (err) {
    if (err instanceof ConfigError) throw err;
    throw readErrorToConfigError(err, explicit ?? cwd, cwd);
  }
}

function readErrorToConfigError(err: unknown, where: string, cwd: string): ConfigError {
  const error = err as NodeJS.ErrnoException & { filepath?: string };
  const label = path.relative(cwd, error.filepath ?? where) || where;
  if (error.code === 'ENOENT') return new ConfigError(label, '', 'no such file');
  const firstLine = String(error.message ?? err).split('\n')[0] ?? 'unreadable';
  const cleaned = firstLine.replace(/^JSON Error in [^:]+:\s*/, '');
  return new ConfigError(label, '', `cannot be parsed: ${cleaned}`);
}

function applyOverrides(raw: Record<string, unknown>, overrides: LoadOptions['overrides']): Record<string, unknown> {
  if (!overrides) return raw;
  const out = { ...raw };
  if (overrides.host !== undefined || overrides.port !== undefined || overrides.workers !== undefined) {
    const listen = { ...((raw.listen as Record<string, unknown> | undefined) ?? {}) };
    if (overrides.host !== undefined) listen.host = overrides.host;
    if (overrides.port !== undefined) listen.port = overrides.port;
    if (overrides.workers !== undefined) listen.workers = overrides.workers;
    out.listen = listen;
  }
  if (overrides.adminPort !== undefined)
    out.admin = { ...((raw.admin as Record<string, unknown> | undefined) ?? {}), port: overrides.adminPort };
  return out;
}

function toConfigError(error: z.ZodError, label: string): ConfigError {
  const issue = error.issues[0]!;
  const where = formatPath(issue.path);
  if (issue.code === 'unrecognized_keys') {
    const keys = issue.keys.map((key) => `"${key}"`).join(', ');
    const more = error.issues.length > 1 ? ` (and ${error.issues.length - 1} more problem(s))` : '';
    return new ConfigError(label, where, `unknown field ${keys}${more}`);
  }
  const more = error.issues.length > 1 ? ` (and ${error.issues.length - 1} more problem(s))` : '';
  return new ConfigError(label, where, `${issue.message}${more}`);
}

function resolvePaths(config: HubConfig, baseDir: string): void {
  config.logs.dir = path.resolve(baseDir, config.logs.dir);
  const jwt = config.auth?.jwt;
  if (jwt) {
    for (const field of ['publicKeyFile', 'privateKeyFile', 'jwksFile'] as const) {
      const file = jwt[field];
      if (file) jwt[field] = path.resolve(baseDir, file);
    }
  }
  for (const tls of [config.listen.tls, config.admin.tls]) {
    if (!tls) continue;
    tls.cert = path.resolve(baseDir, tls.cert);
    tls.key = path.resolve(baseDir, tls.key);
  }
  if (config.logs.sink.startsWith('sqlite://')) {
    config.logs.sink = `sqlite://${path.resolve(baseDir, config.logs.sink.slice('sqlite://'.length))}`;
  }
  if (config.store.startsWith('sqlite://')) {
    config.store = `sqlite://${path.resolve(baseDir, config.store.slice('sqlite://'.length))}`;
  }
}

function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object') {
    for (const child of Object.values(value)) deepFreeze(child);
    Object.freeze(value);
  }
  return value;
}
