/**
 * A `.env` file (openai-forward's way of configuring, and many deployments'): read with Node's own
 * parser, after a check that every line is `NAME=value` (Node's parser would silently glue a broken
 * line onto the next name). Variables already set win over the file.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { parseEnv } from 'node:util';
import { ConfigError } from './config-error.js';

export interface LoadedEnvFile {
  file: string;
  /** The names this file set (those not already in the environment). */
  applied: string[];
}

const ASSIGNMENT = /^\s*(?:export\s+)?[A-Za-z_][A-Za-z0-9_.-]*\s*=(.*)$/;

/**
 * Loads `explicit` (which must exist), or `.env` in `cwd` when there is one, into `env`.
 * Undefined when there is no file to load.
 */
export async function loadEnvFile(
  env: NodeJS.ProcessEnv,
  cwd: string,
  explicit?: string,
): Promise<LoadedEnvFile | undefined> {
  const file = path.resolve(cwd, explicit ?? '.env');
  const label = explicit ?? '.env';
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT' && explicit === undefined) return undefined;
    throw new ConfigError(
      label,
      '',
      (err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : `cannot be read: ${(err as Error).message}`,
    );
  }
  checkLines(text, label);
  const applied: string[] = [];
  for (const [name, value] of Object.entries(parseEnv(text))) {
    if (env[name] !== undefined) continue;
    env[name] = value;
    applied.push(name);
  }
  return { file, applied };
}

/** Every line is blank, a comment, `NAME=value`, or inside a quoted value that spans lines. Never shows a line's text (it may hold a secret). */
function checkLines(text: string, label: string): void {
  let openQuote: string | undefined;
  text.split(/\r?\n/).forEach((line, index) => {
    if (openQuote) {
      if (line.includes(openQuote)) openQuote = undefined;
      return;
    }
    const trimmed = line.trim();
    if (trimmed === '' || trimmed.startsWith('#')) return;
    const assignment = ASSIGNMENT.exec(line);
    if (!assignment)
      throw new ConfigError(label, `line ${index + 1}`, 'is not NAME=value (a quoted value may span lines)');
    const value = assignment[1]!.trim();
    const quote = value[0];
    if ((quote === "'" || quote === '"' || quote === '`') && !value.slice(1).includes(quote)) openQuote = quote;
  });
  if (openQuote) throw new ConfigError(label, '', `a value opened with ${openQuote} is never closed`);
}
