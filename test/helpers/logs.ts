import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';

/** Every JSON line of the log files in `dir` whose names start with `prefix` (access-, chat-, …). */
export async function readJsonLines<T>(dir: string, prefix: string): Promise<T[]> {
  // A log file, and so its folder, is made with the first line: no folder, no lines.
  const names = await readdir(dir).catch((err: NodeJS.ErrnoException) =>
    err.code === 'ENOENT' ? [] : Promise.reject(err),
  );
  const files = names.filter((name) => name.startsWith(prefix) && name.endsWith('.log'));
  const lines: T[] = [];
  for (const file of files) {
    for (const line of (await readFile(path.join(dir, file), 'utf8')).split('\n'))
      if (line.trim()) lines.push(JSON.parse(line) as T);
  }
  return lines;
}
