/**
 * The access log read back: the records of `logs.dir` that match a filter, the last of them, then
 * (following) every new line as it is written, across the daily rotation. Lines that are not
 * records are skipped and counted; a line being written is read once it is whole.
 */
import { watch, type FSWatcher } from 'node:fs';
import { open, readdir, stat } from 'node:fs/promises';
import path from 'node:path';
import { globMatch } from '../util/glob.js';
import type { AccessRecord } from './access-record.js';
import { eachLogLine } from './log-file-lines.js';

export interface AccessFilter {
  user?: string;
  /** A model name; `*` globs allowed. */
  model?: string;
  /** `404`, or a class: `4xx`. */
  status?: string;
  since?: Date;
}

/** One record as read, and its line as written (for `--json`, passed through as it is). */
export interface TailedRecord {
  record: AccessRecord;
  line: string;
}

/** Whether `status` is a status (`429`) or a class (`4xx`) aifd can filter by. */
export function isStatusFilter(status: string): boolean {
  return /^[1-5](\d\d|xx)$/i.test(status);
}

export function accessMatcher(filter: AccessFilter): (record: AccessRecord) => boolean {
  const model = filter.model;
  const status = filter.status?.toLowerCase();
  const since = filter.since?.toISOString();
  return (record) => {
    if (filter.user !== undefined && record.user !== filter.user) return false;
    if (model !== undefined && !globMatch(model, record.model ?? '') && !globMatch(model, record.alias ?? ''))
      return false;
    if (status) {
      const actual = String(record.status ?? 0);
      if (status.endsWith('xx') ? actual[0] !== status[0] : actual !== status) return false;
    }
    return since === undefined || record.ts >= since;
  };
}

/** A line as an access record, or undefined when it is not one. */
export function parseAccessLine(line: string): AccessRecord | undefined {
  try {
    const record = JSON.parse(line) as AccessRecord;
    if (!record || typeof record !== 'object' || typeof record.ts !== 'string' || typeof record.id !== 'string')
      return undefined;
    return record;
  } catch {
    return undefined;
  }
}

const ACCESS_FILE = /^access-(\d{4}-\d{2}-\d{2})(\.\d+)?\.log(\.gz)?$/;

/**
 * The access log files of `dir`, oldest first (rotated by day, then by size, gzipped when done);
 * with `days`, only those of the days from `from` to `to` (`YYYY-MM-DD`, both included).
 */
export async function accessLogFiles(dir: string, days: { from?: string; to?: string } = {}): Promise<string[]> {
  const names = await readdir(dir).catch((err: NodeJS.ErrnoException) =>
    err.code === 'ENOENT' ? [] : Promise.reject(err),
  );
  const order = (name: string) => {
    const match = ACCESS_FILE.exec(name)!;
    return `${match[1]}${(match[2] ?? '.0').padStart(8, '0')}`;
  };
  const inDays = (name: string) => {
    const day = ACCESS_FILE.exec(name)?.[1];
    return (
      day !== undefined && (days.from === undefined || day >= days.from) && (days.to === undefined || day <= days.to)
    );
  };
  return names
    .filter(inDays)
    .sort((a, b) => order(a).localeCompare(order(b)))
    .map((name) => path.join(dir, name));
}

/** Where the access log ends now: its newest file, and that file's size. */
export interface LogPosition {
  file: string | undefined;
  offset: number;
}

export async function accessLogEnd(dir: string): Promise<LogPosition> {
  const file = (await accessLogFiles(dir)).filter((name) => !name.endsWith('.gz')).at(-1);
  return { file, offset: file ? (await stat(file)).size : 0 };
}

export interface ReadResult {
  /** The last `last` matching records, oldest first. */
  records: TailedRecord[];
  skipped: number;
}

/**
 * Reads the matching records: of every file from `since`'s day on, else of the newest file only,
 * keeping the last `last` (memory stays bounded whatever the log's size); up to `until` when given,
 * where a follower then takes over (so no line is lost or printed twice).
 */
export async function readAccessLog(
  dir: string,
  filter: AccessFilter,
  last: number,
  until?: LogPosition,
): Promise<ReadResult> {
  const chosen = filter.since
    ? await accessLogFiles(dir, { from: filter.since.toISOString().slice(0, 10) })
    : (await accessLogFiles(dir)).slice(-1);
  const matches = accessMatcher(filter);
  const records: TailedRecord[] = [];
  let skipped = 0;
  for (const file of chosen) {
    if (until && file === until.file && until.offset === 0) continue;
    const whole = await eachLogLine(
      file,
      (line) => {
        const record = parseAccessLine(line);
        if (!record) skipped++;
        else if (matches(record)) {
          records.push({ record, line });
          if (records.length > last) records.shift();
        }
      },
      until && file === until.file ? until.offset : undefined,
    );
    if (!whole) skipped++;
  }
  return { records, skipped };
}

/** How often the newest file is looked at besides the folder's change events (which may be missed). */
const POLL_MS = 250;

/**
 * Calls `onRecord` with every matching record written after `from` (now, without it) to the newest
 * file and the files that come after it, until `signal` aborts. `onSkipped` hears of lines that are
 * not records.
 */
export async function followAccessLog(
  dir: string,
  filter: AccessFilter,
  onRecord: (tailed: TailedRecord) => void,
  signal: AbortSignal,
  from?: LogPosition,
  onSkipped: () => void = () => undefined,
): Promise<void> {
  const matches = accessMatcher(filter);
  let { file, offset } = from ?? (await accessLogEnd(dir));
  let partial = '';
  let reading = false;
  let again = false;

  const readNew = async () => {
    if (reading) {
      again = true;
      return;
    }
    reading = true;
    try {
      do {
        again = false;
        const newest = (await accessLogFiles(dir)).filter((name) => !name.endsWith('.gz')).at(-1);
        if (file) await readFrom(file);
        if (newest && newest !== file) {
          // The day (or the size) rotated: the old file is read to its end above, the new one from its start.
          file = newest;
          offset = 0;
          partial = '';
          await readFrom(file);
        }
      } while (again);
    } finally {
      reading = false;
    }
  };

  const readFrom = async (name: string) => {
    const handle = await open(name, 'r').catch(() => undefined);
    if (!handle) return;
    try {
      const { size } = await handle.stat();
      if (size < offset) offset = 0;
      while (offset < size) {
        const buffer = Buffer.alloc(Math.min(size - offset, 1 << 20));
        const { bytesRead } = await handle.read(buffer, 0, buffer.length, offset);
        if (bytesRead === 0) break;
        offset += bytesRead;
        const text = partial + buffer.subarray(0, bytesRead).toString('utf8');
        const lines = text.split('\n');
        partial = lines.pop()!;
        for (const line of lines) {
          if (!line.trim()) continue;
          const record = parseAccessLine(line);
          if (!record) onSkipped();
          else if (matches(record)) onRecord({ record, line });
        }
      }
    } finally {
      await handle.close();
    }
  };

  let watcher: FSWatcher | undefined;
  try {
    watcher = watch(dir, () => void readNew().catch(() => undefined));
    watcher.on('error', () => undefined);
  } catch {
    // No folder yet: it is made with the log's first line, and the poll finds that.
  }
  const timer = setInterval(() => void readNew().catch(() => undefined), POLL_MS);
  await new Promise<void>((resolve) => {
    if (signal.aborted) return resolve();
    signal.addEventListener('abort', () => resolve(), { once: true });
  });
  clearInterval(timer);
  watcher?.close();
}
