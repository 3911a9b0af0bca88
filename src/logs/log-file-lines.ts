/** The lines of one log file as written, rotated ones gunzipped; blank lines left out. */
import { createReadStream } from 'node:fs';
import readline from 'node:readline';
import { createGunzip } from 'node:zlib';

/**
 * Calls `onLine` with every line of `file` (up to byte `end` when given), one at a time. Resolves
 * false when the file ended in a truncated gzip member: what was read before it stands.
 */
export async function eachLogLine(
  file: string,
  onLine: (line: string) => void | Promise<void>,
  end?: number,
): Promise<boolean> {
  const source = createReadStream(file, end === undefined ? {} : { end: end - 1 });
  const lines = readline.createInterface({
    input: file.endsWith('.gz') ? source.pipe(createGunzip()) : source,
    crlfDelay: Infinity,
  });
  try {
    for await (const line of lines) if (line.trim()) await onLine(line);
    return true;
  } catch {
    return false;
  }
}
