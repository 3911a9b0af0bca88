import { InvalidArgumentError } from 'commander';

export function parsePort(value: string): number {
  const port = Number(value);
  if (!Number.isInteger(port) || port < 0 || port > 65535)
    throw new InvalidArgumentError('must be a port number (0-65535)');
  return port;
}

/** `--workers`: a whole number of at least 1, or `auto` (one per core). */
export function parseWorkers(value: string): number | 'auto' {
  if (value === 'auto') return 'auto';
  const workers = Number(value);
  if (!Number.isInteger(workers) || workers < 1)
    throw new InvalidArgumentError('must be a whole number of at least 1, or auto (one per core)');
  return workers;
}
