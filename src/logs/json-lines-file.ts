/**
 * A JSON-lines file that rotates by day and by size and gzips what it rotated out
 * (winston-daily-rotate-file). Writes never block or fail a request: a failing write is reported
 * once and counted. Lines written in one turn of the event loop go to the file as one write (a
 * winston call per line cost more than the rest of a request's bookkeeping under load).
 */
import winston from 'winston';
import DailyRotateFile from 'winston-daily-rotate-file';
import type { Diagnostics } from './diagnostics.js';

export interface JsonLinesFile {
  /** Appends one record (already serialized, no newline). */
  write(line: string): void;
  readonly failures: number;
  close(): Promise<void>;
}

export interface JsonLinesOptions {
  dir: string;
  /** File name with %DATE%, e.g. `access-%DATE%.log`. */
  filename: string;
  maxSize?: string;
  maxFiles?: string;
  log: Diagnostics;
  /**
   * Make the file with its first line, not now: for a log that is rarely written (the SQL sink's
   * fallback). A log that is written all the time opens at once, so its stream is ready long
   * before shutdown flushes its last lines.
   */
  lazy?: boolean;
}

/** Lines held for one write at most. */
const MAX_BATCH = 1000;

export function createJsonLinesFile(options: JsonLinesOptions): JsonLinesFile {
  let failures = 0;
  const onError = (err: Error) => {
    failures++;
    if (failures === 1)
      options.log.error(`cannot write ${options.filename} in ${options.dir}; further failures are only counted`, {
        error: err.message,
      });
  };
  let opened: { logger: winston.Logger; transport: DailyRotateFile } | undefined;
  const open = () => {
    const transport = new DailyRotateFile({
      dirname: options.dir,
      filename: options.filename,
      datePattern: 'YYYY-MM-DD',
      utc: true,
      zippedArchive: true,
      maxSize: options.maxSize ?? '100m',
      maxFiles: options.maxFiles ?? '30d',
      auditFile: `${options.dir}/.${options.filename.replace('%DATE%', 'audit')}.json`,
      format: winston.format.printf((info) => String(info.message)),
    });
    const logger = winston.createLogger({ level: 'info', transports: [transport], exitOnError: false });
    transport.on('error', onError);
    logger.on('error', onError);
    return { logger, transport };
  };
  if (!options.lazy) opened = open();
  let pending: string[] = [];
  let closing: Promise<void> | undefined;
  const flush = () => {
    if (pending.length === 0) return;
    const lines = pending;
    pending = [];
    try {
      opened ??= open();
      opened.logger.info(lines.length === 1 ? lines[0]! : lines.join('\n'));
    } catch (err) {
      onError(err as Error);
    }
  };
  return {
    write(line) {
      pending.push(line);
      if (pending.length === 1) setImmediate(flush);
      else if (pending.length >= MAX_BATCH) flush();
    },
    get failures() {
      return failures;
    },
    // Closing twice waits for the first close.
    close: () =>
      (closing ??= new Promise((resolve) => {
        flush();
        if (!opened) return resolve();
        opened.transport.once('finish', () => resolve());
        opened.logger.end();
        setTimeout(resolve, 2000).unref();
      })),
  };
}
