/** Talking to a running daemon's admin listener from the command line. */
import type { HubConfig } from '../config/schema.js';
import { readRuntimeFile } from '../store/runtime-file.js';
import { CliError, EXIT_FAILURE } from './exit-codes.js';

export interface DaemonAddress {
  adminUrl: string;
  token: string | undefined;
}

/** Where the running daemon's admin listener should be: its runtime file first, then the config. */
export async function daemonAddress(config: HubConfig, tokenOverride?: string): Promise<DaemonAddress | undefined> {
  const token = tokenOverride ?? process.env.AIFD_ADMIN_TOKEN ?? config.admin.token;
  const runtime = await readRuntimeFile(config);
  if (runtime?.adminUrl) return { adminUrl: runtime.adminUrl, token };
  if (!config.admin.enabled || config.admin.port === 0) return undefined;
  const host = config.admin.host.includes(':') ? `[${config.admin.host}]` : config.admin.host;
  return { adminUrl: `http://${host}:${config.admin.port}`, token };
}

class AdminRequestError extends CliError {
  constructor(
    message: string,
    readonly status: number | undefined,
  ) {
    super(message, EXIT_FAILURE, status === 401 ? 'pass --token, or set admin.token / AIFD_ADMIN_TOKEN' : undefined);
  }
}

/** Calls the admin listener; undefined when nothing answers there (the daemon is not running). */
export async function adminRequest<T>(
  address: DaemonAddress,
  method: 'GET' | 'POST' | 'DELETE',
  path: string,
  timeoutMs = 30_000,
): Promise<T | undefined> {
  let response: Response;
  try {
    response = await fetch(`${address.adminUrl}${path}`, {
      method,
      headers: address.token ? { authorization: `Bearer ${address.token}` } : {},
      signal: AbortSignal.timeout(timeoutMs),
    });
  } catch {
    return undefined;
  }
  const text = await response.text();
  if (!response.ok) {
    let message = text;
    try {
      message = (JSON.parse(text) as { error?: { message?: string } }).error?.message ?? text;
    } catch {
      // not JSON: keep the text
    }
    throw new AdminRequestError(
      `the daemon at ${address.adminUrl} answered ${response.status}: ${message}`,
      response.status,
    );
  }
  return JSON.parse(text) as T;
}
