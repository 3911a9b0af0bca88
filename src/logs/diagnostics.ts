/**
 * Diagnostics for operators (not the access log): JSON lines to `<logs.dir>/aifd.log` and
 * readable lines on stderr. Nothing logged here may contain a key or token.
 */
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import winston from 'winston';

export interface Diagnostics {
  error(message: string, meta?: Record<string, unknown>): void;
  warn(message: string, meta?: Record<string, unknown>): void;
  info(message: string, meta?: Record<string, unknown>): void;
  debug(message: string, meta?: Record<string, unknown>): void;
  /** Flushes and closes the file transport. */
  close(): Promise<void>;
}

export type LogLevel = 'error' | 'warn' | 'info' | 'debug';

export interface DiagnosticsOptions {
  dir: string;
  level: LogLevel;
  /** Console shows warnings and errors only. */
  quiet?: boolean;
  console?: boolean;
}

const DIAGNOSTICS_FILE = 'aifd.log';

export async function createDiagnostics(options: DiagnosticsOptions): Promise<Diagnostics> {
  await mkdir(options.dir, { recursive: true });
  const transports: winston.transport[] = [
    new winston.transports.File({
      filename: path.join(options.dir, DIAGNOSTICS_FILE),
      format: winston.format.combine(winston.format.timestamp(), winston.format.json()),
      maxsize: 20 * 1024 * 1024,
      maxFiles: 5,
      tailable: true,
    }),
  ];
  if (options.console !== false) {
    transports.push(
      new winston.transports.Console({
        level: options.quiet ? 'warn' : options.level,
        stderrLevels: ['error', 'warn', 'info', 'debug'],
        format: winston.format.combine(
          ...(process.stderr.isTTY ? [winston.format.colorize()] : []),
          winston.format.timestamp({ format: 'HH:mm:ss' }),
          winston.format.printf(({ timestamp, level, message, ...meta }) => {
            const extra = Object.keys(meta).length > 0 ? ' ' + JSON.stringify(meta) : '';
            return `${String(timestamp)} ${level} ${String(message)}${extra}`;
          }),
        ),
      }),
    );
  }
  const logger = winston.createLogger({ level: options.level, transports });
  return {
    error: (message, meta) => logger.error(message, meta),
    warn: (message, meta) => logger.warn(message, meta),
    info: (message, meta) => logger.info(message, meta),
    debug: (message, meta) => logger.debug(message, meta),
    close: () =>
      new Promise((resolve) => {
        logger.on('finish', () => resolve());
        logger.end();
      }),
  };
}

/** A logger that drops everything (tests, `--quiet` commands). */
export const silentDiagnostics: Diagnostics = {
  error: () => undefined,
  warn: () => undefined,
  info: () => undefined,
  debug: () => undefined,
  close: async () => undefined,
};
