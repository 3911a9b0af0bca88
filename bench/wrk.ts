/**
 * wrk as the load generator when it is installed: written in C, it takes far less of a 2-core
 * machine's CPU than autocannon, which leaves more of it to the proxy being measured. Its Lua
 * script (wrk-post.lua) reads the body and the credential from the environment.
 */
import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const SCRIPT = path.join(path.dirname(fileURLToPath(import.meta.url)), 'wrk-post.lua');

export interface WrkResult {
  requests: number;
  rps: number;
  p50Ms: number;
  p99Ms: number;
  non2xx: number;
  errors: number;
}

let installed: boolean | undefined;

export function wrkInstalled(): boolean {
  installed ??= spawnSync('wrk', ['-v'], { stdio: 'ignore' }).error === undefined;
  return installed;
}

const bodyFiles = new Map<string, string>();

/** The body as a file for wrk-post.lua, written once per distinct body. */
function bodyFile(body: string | Buffer): string {
  const hash = createHash('sha1').update(body).digest('hex');
  let file = bodyFiles.get(hash);
  if (!file) {
    file = path.join(os.tmpdir(), `aifd-wrk-body-${process.pid}-${hash}.json`);
    writeFileSync(file, body);
    bodyFiles.set(hash, file);
  }
  return file;
}

/** POSTs `body` to `url` from `connections` connections for `seconds` (one wrk thread). */
export function runWrk(
  url: string,
  headers: Record<string, string>,
  body: string | Buffer,
  connections: number,
  seconds: number,
): Promise<WrkResult> {
  const env = { ...process.env, WRK_BODY_FILE: bodyFile(body), WRK_HEADERS: JSON.stringify(headers) };
  const child = spawn('wrk', ['-t1', `-c${connections}`, `-d${seconds}s`, '--latency', '-s', SCRIPT, url], {
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
  return new Promise((resolve, reject) => {
    child.once('error', reject);
    child.once('exit', (code) => {
      try {
        if (code !== 0) throw new Error(`wrk exited with ${code}`);
        resolve(parseWrk(output));
      } catch (err) {
        reject(new Error(`${(err as Error).message}:\n${output}`));
      }
    });
  });
}

/** Reads wrk's summary (run with --latency). */
export function parseWrk(output: string): WrkResult {
  const number = (pattern: RegExp) => {
    const match = pattern.exec(output);
    if (!match) throw new Error(`wrk printed no ${pattern.source}`);
    return Number(match[1]);
  };
  const socketErrors = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(output);
  return {
    requests: number(/(\d+) requests in /),
    rps: number(/Requests\/sec:\s+([\d.]+)/),
    p50Ms: latencyMs(output, '50%'),
    p99Ms: latencyMs(output, '99%'),
    non2xx: /Non-2xx or 3xx responses: (\d+)/.test(output) ? number(/Non-2xx or 3xx responses: (\d+)/) : 0,
    errors: socketErrors ? socketErrors.slice(1).reduce((sum, count) => sum + Number(count), 0) : 0,
  };
}

const UNIT_MS: Record<string, number> = { us: 0.001, ms: 1, s: 1000, m: 60_000 };

function latencyMs(output: string, percentile: string): number {
  const match = new RegExp(`^\\s*${percentile}\\s+([\\d.]+)(us|ms|s|m)\\s*$`, 'm').exec(output);
  if (!match) throw new Error(`wrk printed no ${percentile} latency`);
  return Number(match[1]) * UNIT_MS[match[2]!]!;
}
