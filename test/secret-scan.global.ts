/**
 * After the whole suite: every file the tests left under the temp folder (logs, chat logs, exports,
 * SQLite stores and sinks, daemon.json) is scanned for anything shaped like a pool key (`sk-…`) or
 * a forward key (`fk-…`). Config files the tests wrote themselves (they hold the keys on purpose)
 * are skipped. A find fails the run.
 */
import { readdir, readFile, stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';

const SECRET_SHAPES = /\b(?:sk|fk)-[A-Za-z0-9_-]{16,}/g;
const MAX_FILE_BYTES = 64 * 1024 * 1024;

export function setup(): () => Promise<void> {
  const startedAt = Date.now();
  return async () => {
    const leaks = await scan(startedAt);
    if (leaks.length === 0) return;
    // vitest reports a teardown error but keeps its exit code: fail the run explicitly.
    process.stderr.write(`secrets found in files the test suite produced:\n${leaks.slice(0, 20).join('\n')}\n`);
    process.exitCode = 1;
    throw new Error('secrets found in files the test suite produced');
  };
}

async function scan(since: number): Promise<string[]> {
  const leaks: string[] = [];
  const roots = (await readdir(os.tmpdir(), { withFileTypes: true })).filter(
    (entry) => entry.isDirectory() && entry.name.startsWith('aifd-'),
  );
  for (const root of roots) {
    const dir = path.join(os.tmpdir(), root.name);
    if ((await stat(dir)).mtimeMs < since - 1000) continue;
    const files = (await readdir(dir, { recursive: true, withFileTypes: true }).catch(() => [])).filter((entry) =>
      entry.isFile(),
    );
    for (const file of files) {
      const full = path.join(file.parentPath, file.name);
      const info = await stat(full).catch(() => undefined);
      if (!info || info.size > MAX_FILE_BYTES) continue;
      const text = (await readFile(full).catch(() => Buffer.alloc(0))).toString('latin1');
      if (isConfigFile(file.name, text)) continue;
      for (const match of text.matchAll(SECRET_SHAPES)) leaks.push(`${full}: ${match[0].slice(0, 12)}…`);
    }
  }
  return leaks;
}

/** A config a test wrote (it holds keys by design). */
function isConfigFile(name: string, text: string): boolean {
  return (
    (/\.(json|ya?ml|js|mjs|cjs)$|^\.aifdrc/.test(name) && text.includes('"upstreams"')) || /^upstreams:/m.test(text)
  );
}
