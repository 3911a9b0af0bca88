/**
 * What the benchmark tools measure, in one place: the processes they start (the mock upstream, the
 * bare http-proxy-3 proxy, aifd), aifd's configs, and how a process's CPU time is read.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import autocannon from 'autocannon';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import http from 'node:http';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { signToken } from '../src/auth/tokens.js';
import { authSchema } from '../src/config/schema.js';
import { runWrk, wrkInstalled, type WrkResult } from './wrk.js';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const JWT_SECRET = 'bench-secret-that-is-long-enough-for-hs256!!';

export interface Started {
  child: ChildProcess;
  port: number;
}

/** Starts a process and resolves with the port it prints ({"port":N} or aifd's banner). */
export function startProcess(args: string[], env: Record<string, string> = {}): Promise<Started> {
  const child = spawn(process.execPath, args, {
    cwd: ROOT,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  return new Promise((resolve, reject) => {
    let output = '';
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      const match = /"port":(\d+)/.exec(output) ?? /listening on http:\/\/[^:]+:(\d+)/.exec(output);
      if (match) resolve({ child, port: Number(match[1]) });
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    child.once('exit', (code) => reject(new Error(`${args.join(' ')} exited with ${code}:\n${output}`)));
  });
}

/** Stops a process and waits until it is gone (so that a CPU profile it writes on exit exists). */
export function stopProcess(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    child.once('exit', () => resolve());
    child.kill('SIGTERM');
  });
}

export const startMock = (): Promise<Started> => startProcess(['--import', 'tsx', 'bench/mock-server.ts']);

const startBare = (mockUrl: string, nodeFlags: string[] = [], workers = 1): Promise<Started> =>
  startProcess([...nodeFlags, '--import', 'tsx', 'bench/bare-proxy.ts'], { TARGET: mockUrl, WORKERS: String(workers) });

/** aifd minimal: one pass-through upstream, memory store, no logs, no admin. */
function minimalConfig(mockUrl: string, dir: string): object {
  return {
    listen: { port: 0 },
    admin: { enabled: false },
    store: 'memory://',
    upstreams: [{ name: 'mock', baseUrl: mockUrl }],
    logs: { dir: path.join(dir, 'minimal-logs'), access: false, sink: 'none' },
  };
}

/**
 * aifd full, a realistic production config: 8 pool keys, JWT auth, a 20-rule ACL, per-user request
 * and token limits, access log, admin (metrics), SQLite store and its SQL sink, cache configured.
 */
function fullConfig(mockUrl: string, dir: string): object {
  const rules = Array.from({ length: 19 }, (_, i) => ({
    roles: [`team-${i}`],
    paths: ['/v1/chat/completions', '/v1/embeddings'],
    models: ['gpt-4o-mini', 'text-embedding-*'],
    effect: 'allow',
  }));
  return {
    listen: { port: 0 },
    admin: { port: 0 },
    store: `sqlite://${path.join(dir, 'full', 'state.sqlite')}`,
    upstreams: [
      {
        name: 'mock',
        baseUrl: mockUrl,
        keys: Array.from({ length: 8 }, (_, i) => `sk-bench-pool-key-${i}-0000000000000000`),
      },
    ],
    auth: { jwt: { secret: JWT_SECRET } },
    acl: {
      default: 'deny',
      rules: [
        ...rules,
        { roles: ['bench'], paths: ['/v1/*'], models: ['gpt-4o*'], effect: 'allow' },
        { roles: ['bench'], paths: ['/v1/realtime'], models: ['gpt-realtime*'], effect: 'allow' },
      ],
    },
    limits: { user: { requests: '1000000/minute', tokens: '1000000000/day' } },
    cache: { chatCompletions: false },
    logs: { dir: path.join(dir, 'full-logs'), access: true },
  };
}

let otlpSink: string | undefined;

/**
 * An OTLP/HTTP receiver in the bench's own process that takes every export and drops it, for
 * `full+otlp` (the collector's cost is not aifd's); its URL, started once.
 */
export async function startOtlpSink(): Promise<string> {
  if (otlpSink) return otlpSink;
  const server = http.createServer((req, res) => {
    req.resume();
    req.on('end', () => res.writeHead(200, { 'content-type': 'application/x-protobuf' }).end());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  server.unref();
  otlpSink = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
  return otlpSink;
}

/**
 * A target's config by name: `minimal`, `full`, `full-<feature>` (full without `sink`, `access`,
 * `limits` or `admin`, to price that feature), or `full+otlp` (full exporting every request's spans
 * and the GenAI metrics to startOtlpSink's receiver); `:wN` after any of them runs it with N workers.
 */
export function configFor(name: string, mockUrl: string, dir: string): object {
  const workers = /^(.*):w(\d+)$/.exec(name);
  if (workers) {
    const config = configFor(workers[1]!, mockUrl, dir) as { listen: Record<string, unknown> };
    config.listen.workers = Number(workers[2]);
    return config;
  }
  if (!name.startsWith('full')) return minimalConfig(mockUrl, dir);
  const config = fullConfig(mockUrl, dir) as {
    logs: Record<string, unknown>;
    limits?: unknown;
    admin: Record<string, unknown>;
  };
  if (name === 'full+otlp') {
    if (!otlpSink) throw new Error('full+otlp needs startOtlpSink() first');
    const sampling = Number(process.env.BENCH_OTLP_SAMPLING ?? 1);
    return { ...config, telemetry: { otlp: { endpoint: otlpSink, metricsInterval: '10s', sampling } } };
  }
  const without = name.slice('full-'.length);
  if (without === 'sink') config.logs.sink = 'none';
  if (without === 'access') config.logs.access = false;
  if (without === 'limits') delete config.limits;
  if (without === 'admin') config.admin = { enabled: false };
  return config;
}

/**
 * Starts a target by name: `bare`; a variant of bare (bare-variants.ts) such as `bare+relay+body`
 * or `bare~5` (parts after `+`, a busy loop of N µs a request after `~`); or an aifd config
 * (`configFor`).
 */
export async function startTarget(
  name: string,
  mockUrl: string,
  dir: string,
  nodeFlags: string[] = [],
): Promise<Started> {
  if (name === 'bare') return startBare(mockUrl, nodeFlags);
  const bareWorkers = /^bare:w(\d+)$/.exec(name);
  if (bareWorkers) return startBare(mockUrl, nodeFlags, Number(bareWorkers[1]));
  const variant = /^bare([+~].*)$/.exec(name);
  if (variant) {
    const [parts, spinUs] = variant[1]!.split('~') as [string, string | undefined];
    return startProcess([...nodeFlags, '--import', 'tsx', 'bench/bare-variants.ts'], {
      TARGET: mockUrl,
      PARTS: parts,
      SPIN_US: spinUs ?? '0',
    });
  }
  if (name.includes('+otlp')) await startOtlpSink();
  return startAifd(name, configFor(name, mockUrl, dir), dir, nodeFlags);
}

/** Starts aifd with `config` (written to `dir`). */
async function startAifd(name: string, config: object, dir: string, nodeFlags: string[] = []): Promise<Started> {
  const file = path.join(dir, `${name}.json`);
  await writeFile(file, JSON.stringify(config));
  return startProcess([...nodeFlags, 'bin/aifd.js', 'run', '--config', file]);
}

/** The non-streaming request every load sends. */
export const CHAT_BODY = JSON.stringify({
  model: 'gpt-4o-mini',
  messages: [{ role: 'user', content: 'Say hello in one short sentence, please.' }],
});

/** What a load measured: requests answered, their rate and latency, and what went wrong. */
export type LoadResult = WrkResult;

/** The load generator: wrk when installed (BENCH_LOADER=autocannon overrides), else autocannon. */
export const LOADER: 'wrk' | 'autocannon' =
  process.env.BENCH_LOADER !== 'autocannon' && wrkInstalled() ? 'wrk' : 'autocannon';

/**
 * Sends `body` (CHAT_BODY unless given) to `baseUrl` from `connections` keep-alive connections, for `seconds` (or, with
 * autocannon, for `amount` requests; wrk, which counts time only, then runs a second).
 */
export async function chatLoad(
  baseUrl: string,
  headers: Record<string, string>,
  options: { connections: number; seconds?: number; amount?: number; body?: Buffer },
): Promise<LoadResult> {
  const url = `${baseUrl}/v1/chat/completions`;
  const body = options.body ?? CHAT_BODY;
  if (LOADER === 'wrk') return runWrk(url, headers, body, options.connections, options.seconds ?? 1);
  const result = await autocannon({
    url,
    method: 'POST',
    connections: options.connections,
    ...(options.amount === undefined ? { duration: options.seconds ?? 1 } : { amount: options.amount }),
    headers: { 'content-type': 'application/json', ...headers },
    body,
  });
  return {
    requests: result.requests.total,
    rps: result.requests.average,
    p50Ms: result.latency.p50,
    p99Ms: result.latency.p99,
    non2xx: result.non2xx,
    errors: result.errors,
  };
}

/** The streamed request: the mock answers it with 20 chunks 5 ms apart. */
export const STREAM_BODY = JSON.stringify({
  model: 'gpt-4o-mini',
  stream: true,
  messages: [{ role: 'user', content: 'Stream twenty chunks.' }],
});

const streamAgent = new http.Agent({ keepAlive: true, maxSockets: 1 });

/**
 * One streamed request, read to its end: time to the first body byte and to the last (ms).
 * Rejects a stream that did not arrive whole (every event and `[DONE]`).
 */
export function streamOnce(
  baseUrl: string,
  headers: Record<string, string>,
  name: string,
): Promise<{ ttfb: number; total: number }> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const req = http.request(
      `${baseUrl}/v1/chat/completions`,
      { method: 'POST', agent: streamAgent, headers: { 'content-type': 'application/json', ...headers } },
      (res) => {
        let ttfb = 0;
        let text = '';
        res.on('data', (chunk: Buffer) => {
          if (!ttfb) ttfb = performance.now() - started;
          text += chunk.toString();
        });
        res.on('end', () => {
          const events = text.split('\n\n').filter((event) => event.startsWith('data: '));
          if (res.statusCode !== 200 || !text.includes('data: [DONE]') || events.length < 23)
            reject(new Error(`${name}: an incomplete stream (${res.statusCode}, ${events.length} events)`));
          else resolve({ ttfb, total: performance.now() - started });
        });
      },
    );
    req.on('error', reject);
    req.end(STREAM_BODY);
  });
}

/** The credential a target takes: a JWT for the full configs, any key for the rest (bare's too). */
export async function authorizationFor(name: string): Promise<string> {
  return name.startsWith('full') ? `Bearer ${await benchToken()}` : 'Bearer sk-direct';
}

/** A token the full config accepts: user bench-user, role bench. */
export async function benchToken(): Promise<string> {
  const jwt = authSchema.parse({ jwt: { secret: JWT_SECRET } }).jwt!;
  return (await signToken(jwt, { user: 'bench-user', roles: ['bench'], models: [], paths: [], expiresInSec: 36_000 }))
    .token;
}

/** Kernel clock ticks per second (USER_HZ) for /proc/<pid>/stat. */
const CLK_TCK = 100;

/** CPU time (user + system) a process has used so far, in milliseconds. */
/** CPU time (ms) of a process and its child processes (the workers of `--workers`). */
export async function cpuMs(pid: number): Promise<number> {
  let total = 0;
  for (const one of [pid, ...(await childrenOf(pid))]) {
    const fields = await statFields(one);
    if (fields) total += ((Number(fields[11]) + Number(fields[12])) * 1000) / CLK_TCK;
  }
  return total;
}

/** /proc/PID/stat after the command name (field 3 on), or undefined once the process is gone. */
async function statFields(pid: number): Promise<string[] | undefined> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => undefined);
  return stat?.slice(stat.lastIndexOf(')') + 2).split(' ');
}

async function childrenOf(pid: number): Promise<number[]> {
  const found: number[] = [];
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const fields = await statFields(Number(entry));
    if (fields && Number(fields[1]) === pid) found.push(Number(entry));
  }
  return found;
}

export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}
