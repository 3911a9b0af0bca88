/**
 * The soak: many mixed requests (JSON, streams, upstream errors, client aborts) through a real
 * `aifd run`, then the figures that show a leak: resident memory, open file descriptors and
 * active handles (sockets, timers) after warm-up and at the end, and access records against
 * requests sent. `npm run test:soak` runs 200,000; `npm test` runs a short version.
 */
import http from 'node:http';
import net from 'node:net';
import { once } from 'node:events';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { startMockUpstream } from '../mock-upstream/mock-upstream.js';
import { startDaemon, type RunningDaemon } from '../helpers/cli.js';
import { readJsonLines } from '../helpers/logs.js';

const USER = 'fk-soak-user-000000000000000';
const ADMIN_TOKEN = 'soak-admin-token-000000000000';
const KEYS = Array.from({ length: 4 }, (_, i) => `sk-soak-pool-key-${i}-${'0'.repeat(24)}`);

export interface SoakOptions {
  requests: number;
  concurrency: number;
  /** Requests before the first measurement. */
  warmup: number;
  /** Quiet time before each measurement (see `snapshot`). */
  settleMs?: number;
  /** Idle connections opened after warm-up and held while the load runs (the daemon reaps them). */
  idleConnections?: number;
  progress?: (line: string) => void;
}

export interface Snapshot {
  rssMb: number;
  heapUsedMb: number;
  heapTotalMb: number;
  externalMb: number;
  fds: number;
  /** Active handles by kind (TCPSocketWrap, Timeout, …), as the daemon reports them when idle. */
  resources: Record<string, number>;
}

export interface SoakResult {
  sent: number;
  concurrency: number;
  byKind: Record<Kind, number>;
  /** Answers that were not what their kind should get. */
  failures: string[];
  afterWarmup: Snapshot;
  atEnd: Snapshot;
  rssGrowth: number;
  /** Idle connections opened, and how many the daemon had closed by the end (headersTimeout). */
  idle: { opened: number; closedByDaemon: number; droppedByKernel: number };
  accessRecords: number;
  /** Access records by status and error code (client aborts and upstream 400s are expected). */
  errors: Record<string, number>;
  seconds: number;
  requestsPerSecond: number;
}

type Kind = 'json' | 'stream' | 'error' | 'abort';

/** 60 % JSON, 25 % streams, 10 % upstream errors, 5 % clients that leave mid-stream. */
function kindOf(n: number): Kind {
  const slot = n % 20;
  if (slot < 12) return 'json';
  if (slot < 17) return 'stream';
  if (slot < 19) return 'error';
  return 'abort';
}

export async function runSoak(options: SoakOptions): Promise<SoakResult> {
  const mock = await startMockUpstream();
  mock.options.keepReceived = false;
  const dir = await mkdtemp(path.join(os.tmpdir(), 'aifd-soak-'));
  let daemon: RunningDaemon | undefined;
  try {
    await writeFile(
      path.join(dir, 'hub.config.json'),
      JSON.stringify({
        store: 'sqlite://./state.sqlite',
        upstreams: [{ name: 'openai', baseUrl: mock.url, keys: KEYS }],
        auth: { forwardKeys: [{ key: USER, user: 'soak', roles: [] }] },
        limits: { user: { requests: '100000000/hour', tokens: '100000000000/hour' } },
        logs: { dir: './logs' },
        admin: { port: 0, token: ADMIN_TOKEN },
        listen: { headersTimeout: '5s' },
      }),
    );
    // SOAK_NODE_OPTIONS and SOAK_MALLOC_ARENA_MAX reach the daemon only (to study where memory goes).
    // --expose-gc lets each measurement collect garbage first (GET /state?gc=1): memory then shows what is held.
    const env: NodeJS.ProcessEnv = {
      NODE_OPTIONS: ['--expose-gc', process.env.SOAK_NODE_OPTIONS].filter(Boolean).join(' '),
    };
    if (process.env.SOAK_MALLOC_ARENA_MAX) env.MALLOC_ARENA_MAX = process.env.SOAK_MALLOC_ARENA_MAX;
    daemon = await startDaemon(['--config', 'hub.config.json', '--port', '0', '--admin-port', '0'], { cwd: dir, env });
    const adminUrl = (JSON.parse(await readRuntimeFile(dir)) as { adminUrl: string }).adminUrl;
    const target = new URL(daemon.url);
    const byKind: Record<Kind, number> = { json: 0, stream: 0, error: 0, abort: 0 };
    const failures: string[] = [];
    let next = 0;

    const drive = async (until: number) => {
      const agent = new http.Agent({ keepAlive: true, maxSockets: options.concurrency });
      const worker = async () => {
        while (next < until) {
          const n = next++;
          const kind = kindOf(n);
          byKind[kind]++;
          const problem = await send(agent, target, kind, n);
          if (problem && failures.length < 20) failures.push(`#${n} ${kind}: ${problem}`);
          else if (problem) failures.push('…');
          if (n > 0 && n % Number(process.env.SOAK_PROGRESS ?? 20_000) === 0)
            options.progress?.(`${n} requests ${Math.round(performance.now())}`);
        }
      };
      await Promise.all(Array.from({ length: options.concurrency }, worker));
      agent.destroy();
    };

    const started = performance.now();
    // Idle connections come during warm-up, so the memory they took is in the first measurement.
    const idle = await openIdleConnections(target, options.idleConnections ?? 0);
    await drive(options.warmup);
    const closedByDaemon = await idle.allClosed(IDLE_REAPED_WITHIN_MS);
    const idleDroppedByKernel = idle.droppedByKernel;
    idle.destroy();
    options.progress?.(`warm-up done, ${closedByDaemon} idle connections closed by aifd`);
    const afterWarmup = await snapshot(adminUrl, daemon.child.pid!, options.settleMs ?? 0);
    await drive(options.requests);
    const seconds = (performance.now() - started) / 1000;
    const atEnd = await snapshot(adminUrl, daemon.child.pid!, options.settleMs ?? 0);
    const exitCode = await daemon.stop('SIGTERM');
    if (exitCode !== 0) failures.push(`aifd exited with ${exitCode}`);
    const records = await readJsonLines<{ error: string | null; status: number | null }>(
      path.join(dir, 'logs'),
      'access-',
    );
    const errors: Record<string, number> = {};
    for (const record of records)
      if (record.error)
        errors[`${record.status} ${record.error}`] = (errors[`${record.status} ${record.error}`] ?? 0) + 1;
    return {
      sent: next,
      concurrency: options.concurrency,
      byKind,
      failures,
      afterWarmup,
      atEnd,
      rssGrowth: atEnd.rssMb / afterWarmup.rssMb - 1,
      idle: { opened: options.idleConnections ?? 0, closedByDaemon, droppedByKernel: idleDroppedByKernel },
      accessRecords: records.length,
      errors,
      seconds,
      requestsPerSecond: next / seconds,
    };
  } finally {
    await daemon?.stop('SIGKILL');
    await mock.close();
    await rm(dir, { recursive: true, force: true });
  }
}

/** The soak's daemon gives a silent connection 5 s (listen.headersTimeout); all must be gone well within this. */
const IDLE_REAPED_WITHIN_MS = 30_000;

/**
 * Opens `count` connections that never send a byte; `allClosed` waits for the daemon to close them.
 * A connection the kernel dropped from a full accept queue (ListenOverflows) looks open to its
 * client but never reached aifd: those are counted apart.
 */
async function openIdleConnections(
  target: URL,
  count: number,
): Promise<{ allClosed(withinMs: number): Promise<number>; destroy(): void; droppedByKernel: number }> {
  const overflowsBefore = await listenOverflows();
  const sockets: net.Socket[] = [];
  let closed = 0;
  let onClosed: (() => void) | undefined;
  let gone = false;
  let dropped = 0;
  const droppedByKernelSoFar = () => dropped;
  for (let opened = 0; opened < count; opened += 200) {
    await Promise.all(
      Array.from({ length: Math.min(200, count - opened) }, async () => {
        const socket = net.connect(Number(target.port), target.hostname);
        socket.on('error', () => undefined);
        // Flowing, so that the daemon closing the connection is seen.
        socket.resume();
        socket.on('close', () => {
          if (gone) return;
          closed++;
          if (closed === count - droppedByKernelSoFar()) onClosed?.();
        });
        await once(socket, 'connect');
        sockets.push(socket);
      }),
    );
  }
  const droppedByKernel = (await listenOverflows()) - overflowsBefore;
  dropped = droppedByKernel;
  const reachable = count - droppedByKernel;
  return {
    droppedByKernel,
    allClosed: async (withinMs) => {
      if (closed < reachable) {
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, withinMs);
          onClosed = () => {
            clearTimeout(timer);
            resolve();
          };
        });
      }
      return closed;
    },
    destroy: () => {
      gone = true;
      for (const socket of sockets) socket.destroy();
    },
  };
}

/** The kernel's count of connections dropped because a listen queue was full (all sockets). */
async function listenOverflows(): Promise<number> {
  const lines = (await readFile('/proc/net/netstat', 'utf8')).split('\n');
  const names = lines.find((line) => line.startsWith('TcpExt:'))!.split(/\s+/);
  const values = lines.filter((line) => line.startsWith('TcpExt:'))[1]!.split(/\s+/);
  return Number(values[names.indexOf('ListenOverflows')] ?? 0);
}

/** One request of a kind; undefined when it went as it should, else what was wrong. */
function send(agent: http.Agent, target: URL, kind: Kind, n: number): Promise<string | undefined> {
  const stream = kind === 'stream' || kind === 'abort';
  const body = JSON.stringify({ model: 'gpt-4o-mini', stream, messages: [{ role: 'user', content: `soak ${n}` }] });
  const headers: http.OutgoingHttpHeaders = {
    authorization: `Bearer ${USER}`,
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(body),
  };
  if (kind === 'error') headers['x-mock-error'] = 'context_length_exceeded';
  if (kind === 'abort') Object.assign(headers, { 'x-mock-chunks': '20', 'x-mock-delay-ms': '5' });
  return new Promise((resolve) => {
    const req = http.request(
      { hostname: target.hostname, port: target.port, path: '/v1/chat/completions', method: 'POST', agent, headers },
      (res) => {
        const expected = kind === 'error' ? 400 : 200;
        if (res.statusCode !== expected) {
          res.resume();
          resolve(`status ${res.statusCode}`);
          return;
        }
        if (kind === 'abort') {
          res.once('data', () => {
            req.destroy();
            resolve(undefined);
          });
          return;
        }
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (text += chunk));
        res.on('end', () => resolve(stream && !text.includes('data: [DONE]') ? 'stream without [DONE]' : undefined));
        res.on('error', (err) => resolve(err.message));
      },
    );
    req.on('error', (err) => resolve(kind === 'abort' ? undefined : err.message));
    req.end(body);
  });
}

/**
 * The daemon's figures once it is idle: nothing in flight, and `settleMs` of quiet so that V8's
 * memory reducer has run its collections (RSS right after a burst counts garbage not yet collected).
 */
async function snapshot(adminUrl: string, pid: number, settleMs: number): Promise<Snapshot> {
  if (settleMs > 0) await new Promise((resolve) => setTimeout(resolve, settleMs));
  let state = await adminState(adminUrl);
  // Streams whose clients left finish on the daemon's side a moment later: wait until none is in flight.
  for (let tries = 0; state.inFlight > 0 && tries < 100; tries++) {
    await new Promise((resolve) => setImmediate(resolve));
    state = await adminState(adminUrl);
  }
  state = await adminState(adminUrl, true);
  // Sockets the client just closed take a moment to close on the daemon's side: read until steady.
  let fds = (await readdir(`/proc/${pid}/fd`)).length;
  for (let steady = 0, tries = 0; steady < 3 && tries < 200; tries++) {
    state = await adminState(adminUrl, true);
    const now = (await readdir(`/proc/${pid}/fd`)).length;
    steady = now === fds ? steady + 1 : 0;
    fds = now;
  }
  const mb = (bytes: number) => Math.round((bytes / 1024 / 1024) * 10) / 10;
  const memory = state.process;
  return {
    rssMb: mb(memory.rss),
    heapUsedMb: mb(memory.heapUsed),
    heapTotalMb: mb(memory.heapTotal),
    externalMb: mb(memory.external),
    fds,
    resources: memory.activeResources,
  };
}

interface AdminState {
  inFlight: number;
  process: {
    rss: number;
    heapUsed: number;
    heapTotal: number;
    external: number;
    activeResources: Record<string, number>;
  };
}

function adminState(adminUrl: string, collectGarbage = false): Promise<AdminState> {
  return new Promise((resolve, reject) => {
    http
      .get(
        `${adminUrl}/state${collectGarbage ? '?gc=1' : ''}`,
        { headers: { authorization: `Bearer ${ADMIN_TOKEN}` }, agent: false },
        (res) => {
          let text = '';
          res.setEncoding('utf8');
          res.on('data', (chunk: string) => (text += chunk));
          res.on('end', () => resolve(JSON.parse(text) as AdminState));
        },
      )
      .on('error', reject);
  });
}

/** `daemon.json`, which the daemon writes beside its SQLite state before it says it listens. */
async function readRuntimeFile(dir: string): Promise<string> {
  for (const candidate of [path.join(dir, 'aifd-data', 'daemon.json'), path.join(dir, 'daemon.json')]) {
    const text = await readFile(candidate, 'utf8').catch(() => undefined);
    if (text) return text;
  }
  throw new Error('the daemon wrote no daemon.json');
}

/** `npm run test:soak`: the long run, its figures, and exit 1 when a bar is missed. */
async function main(): Promise<void> {
  const requests = Number(process.env.SOAK_REQUESTS ?? 200_000);
  const warmup = Number(process.env.SOAK_WARMUP ?? Math.round(requests / 10));
  // Both measurements alike: 8 s of quiet (pooled upstream connections time out), then a full GC.
  const settleMs = Number(process.env.SOAK_SETTLE_MS ?? 8000);
  const idleConnections = Number(process.env.SOAK_IDLE ?? 10_000);
  const result = await runSoak({
    requests,
    concurrency: 50,
    warmup,
    settleMs,
    idleConnections,
    progress: (line) => process.stderr.write(`${line}\n`),
  });
  process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
  const problems = soakProblems(result, 0.1);
  for (const problem of problems) process.stderr.write(`FAIL ${problem}\n`);
  if (problems.length === 0) process.stderr.write('soak passed\n');
  process.exitCode = problems.length === 0 ? 0 : 1;
}

/** What a soak result must show; `maxRssGrowth` is 10 % for the long run. */
export function soakProblems(result: SoakResult, maxRssGrowth: number): string[] {
  const problems: string[] = [];
  if (result.failures.length > 0) problems.push(`unexpected answers: ${result.failures.join('; ')}`);
  const idleOpen = result.idle.opened - result.idle.droppedByKernel - result.idle.closedByDaemon;
  if (idleOpen > 0)
    problems.push(
      `${idleOpen} idle connections that reached aifd were still open after ${IDLE_REAPED_WITHIN_MS / 1000} s`,
    );
  if (result.accessRecords !== result.sent)
    problems.push(`${result.sent} requests sent, ${result.accessRecords} access records`);
  if (result.rssGrowth > maxRssGrowth)
    problems.push(`RSS grew ${(result.rssGrowth * 100).toFixed(1)} % after warm-up (bar ${maxRssGrowth * 100} %)`);
  // Pooled keep-alive connections to the upstream (at most one per concurrent request) may come and
  // go between the two measurements; a leak grows with the requests, by thousands.
  const pooled = result.concurrency;
  if (result.atEnd.fds > result.afterWarmup.fds + pooled)
    problems.push(`open file descriptors ${result.afterWarmup.fds} → ${result.atEnd.fds}`);
  for (const [kind, slack] of [
    ['TCPSocketWrap', pooled],
    ['Timeout', 2],
  ] as const) {
    const before = result.afterWarmup.resources[kind] ?? 0;
    const after = result.atEnd.resources[kind] ?? 0;
    if (after > before + slack) problems.push(`${kind} handles ${before} → ${after}`);
  }
  return problems;
}

if (process.argv[1] && import.meta.url.endsWith(path.basename(process.argv[1]))) await main();
