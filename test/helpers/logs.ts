import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';

/** Every JSON line of the log files in `dir` whose names start with `prefix` (access-, chat-, …). */
export async function readJsonLines<T>(dir: string, prefix: string): Promise<T[]> {
  const files = (await readdir(dir)).filter((name) => name.startsWith(prefix) && name.endsWith('.log'));
  const lines: T[] = [];
  for (const file of files) {
    for (const line of (await readFile(path.join(dir, file), 'utf8')).split('\n')) if (line.trim()) lines.push(JSON.parse(line) as T);
  }
  return lines;
}
