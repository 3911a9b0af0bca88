import { readFile, writeFile } from 'node:fs/promises';
import chalk from 'chalk';
import { loadConfig } from '../config/load.js';
import type { HubConfig } from '../config/schema.js';
import { fromOpenaiApiRoute } from '../config/import-openai-api-route.js';
import { maskKey } from '../util/redact.js';
import { CliError, EXIT_USAGE } from './exit-codes.js';
import { printJson } from './output.js';

export interface PrintOptions {
  config?: string;
  json?: boolean;
}

export async function printConfig(options: PrintOptions): Promise<void> {
  const loaded = await loadConfig({ configPath: options.config });
  const source = {
    file: loaded.file ?? null,
    envFile: loaded.envFile?.file ?? null,
    fromVariables: loaded.fromVariables,
    ignoredVariables: loaded.ignoredVariables,
    notes: loaded.notes,
  };
  const config = masked(loaded.config);
  if (options.json) {
    printJson({ source, origins: loaded.origins, config });
    return;
  }
  const from =
    loaded.file ??
    (loaded.fromVariables.length > 0
      ? `openai-forward variables (${loaded.fromVariables.join(', ')})`
      : 'built-in defaults');
  const lines = [`# config from ${from}${loaded.envFile ? `, with ${loaded.envFile.file}` : ''}`];
  if (loaded.ignoredVariables.length > 0)
    lines.push(`# ignored (the file wins): ${loaded.ignoredVariables.join(', ')}`);
  for (const note of loaded.notes) lines.push(`# note: ${note}`);
  for (const [part, value] of Object.entries(config)) {
    lines.push(
      `${chalk.bold(part)} ${chalk.dim(`(${loaded.origins[part] ?? 'default'})`)}: ${JSON.stringify(value, null, 2)}`,
    );
  }
  process.stdout.write(lines.join('\n') + '\n');
}

export async function checkConfig(options: PrintOptions): Promise<void> {
  const loaded = await loadConfig({ configPath: options.config });
  const where = loaded.file ?? (loaded.fromVariables.length > 0 ? 'openai-forward variables' : 'built-in defaults');
  process.stdout.write(`config ok: ${where} (${loaded.config.upstreams.length} upstream(s))\n`);
}

export interface ImportOptions {
  output: string;
  force?: boolean;
}

export async function importConfig(gateway: string, file: string, options: ImportOptions): Promise<void> {
  if (gateway !== 'openai-api-route')
    throw new CliError(
      `cannot import from "${gateway}": aifd imports openai-api-route's config; openai-forward's .env is read as it is`,
      EXIT_USAGE,
    );
  const text = await readFile(file, 'utf8').catch((err: NodeJS.ErrnoException) => {
    throw new CliError(`${file}: ${err.code === 'ENOENT' ? 'no such file' : err.message}`, EXIT_USAGE);
  });
  const { config, notes } = fromOpenaiApiRoute(text, file);
  const json = JSON.stringify(config, null, 2) + '\n';
  if (options.output === '-') process.stdout.write(json);
  else {
    await writeFile(options.output, json, { flag: options.force ? 'w' : 'wx', mode: 0o600 }).catch(
      (err: NodeJS.ErrnoException) => {
        throw new CliError(
          err.code === 'EEXIST'
            ? `${options.output} exists; --force overwrites it`
            : `${options.output}: ${err.message}`,
          EXIT_USAGE,
        );
      },
    );
    process.stderr.write(
      `wrote ${options.output}: ${config.upstreams.length} upstream(s); it holds the keys of ${file}: keep it as private\n`,
    );
  }
  for (const note of notes) process.stderr.write(`note: ${note}\n`);
}

/** The config as people may see it: every key, token and password masked as `keys list` does. */
export function masked(config: HubConfig): Record<string, unknown> {
  const copy = JSON.parse(JSON.stringify(config)) as Record<string, any>;
  for (const upstream of copy.upstreams ?? []) {
    upstream.keys = upstream.keys.map((entry: string | { key: string }) =>
      typeof entry === 'string' ? maskKey(entry) : { ...entry, key: maskKey(entry.key) },
    );
    for (const name of Object.keys(upstream.headers ?? {})) upstream.headers[name] = '…';
  }
  for (const forward of copy.auth?.forwardKeys ?? []) forward.key = maskKey(forward.key);
  if (copy.auth?.jwt?.secret) copy.auth.jwt.secret = '…';
  if (copy.admin?.token) copy.admin.token = maskKey(copy.admin.token);
  if (copy.alerts?.webhook) copy.alerts.webhook = withoutSecrets(copy.alerts.webhook, true);
  return maskUrls(copy) as Record<string, unknown>;
}

/** Passwords in URLs (a store, a sink, a proxy) anywhere in the config. */
function maskUrls(value: unknown): unknown {
  if (typeof value === 'string')
    return /^[a-z][a-z0-9+.-]*:\/\/[^/@]*@/i.test(value) ? withoutSecrets(value, false) : value;
  if (Array.isArray(value)) return value.map(maskUrls);
  if (value && typeof value === 'object')
    return Object.fromEntries(Object.entries(value).map(([key, child]) => [key, maskUrls(child)]));
  return value;
}

function withoutSecrets(text: string, pathToo: boolean): string {
  try {
    const url = new URL(text);
    if (url.password) url.password = '…';
    if (pathToo && url.pathname.length > 1) url.pathname = '/…';
    if (pathToo) url.search = '';
    return url.toString();
  } catch {
    return '…';
  }
}
