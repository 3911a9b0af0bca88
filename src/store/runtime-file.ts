/**
 * `daemon.json` beside the state: where a running daemon listens, so that `aifd keys …` and
 * `aifd top` find it even when it was started on an ephemeral port.
 */
import { readFile, rm, writeFile, mkdir } from 'node:fs/promises';
import path from 'node:path';
import type { HubConfig } from '../config/schema.js';

export interface RuntimeInfo {
  pid: number;
  url: string;
  adminUrl: string | undefined;
  startedAt: string;
}

function runtimeFilePath(config: HubConfig): string {
  const dir = config.store.startsWith('sqlite://')
    ? path.dirname(config.store.slice('sqlite://'.length))
    : config.logs.dir;
  return path.join(dir, 'daemon.json');
}

export async function writeRuntimeFile(config: HubConfig, info: RuntimeInfo): Promise<void> {
  const file = runtimeFilePath(config);
  await mkdir(path.dirname(file), { recursive: true });
  await writeFile(file, JSON.stringify(info, null, 2) + '\n', { mode: 0o600 });
}

/** The running daemon's info, or undefined when there is none (no file, or its process is gone). */
export async function readRuntimeFile(config: HubConfig): Promise<RuntimeInfo | undefined> {
  try {
    const info = JSON.parse(await readFile(runtimeFilePath(config), 'utf8')) as RuntimeInfo;
    process.kill(info.pid, 0);
    return info;
  } catch {
    return undefined;
  }
}

/**
 * Removes the file when it is this process's: another instance started from the same config
 * (several instances on one machine) may have written it since, and is still running.
 */
export async function removeRuntimeFile(config: HubConfig, pid = process.pid): Promise<void> {
  const file = runtimeFilePath(config);
  const info = await readFile(file, 'utf8').then(
    (text) => JSON.parse(text) as RuntimeInfo,
    () => undefined,
  );
  if (info && info.pid !== pid) return;
  await rm(file, { force: true });
}
