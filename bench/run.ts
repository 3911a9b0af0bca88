/**
 * `npm run bench`: the mock upstream, a bare http-proxy-3 proxy, aifd minimal and aifd full each
 * in a process of their own, measured in one run, interleaved A/B/A/B, each figure the median of
 * several rounds. Prints a table and writes bench/results/<date>.json.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, readdir, readFile, writeFile, mkdir } from 'node:fs/promises';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import {
  LOADER,
  ROOT,
  STREAM_BODY,
  authorizationFor,
  chatLoad,
  cpuMs,
  median,
  startMock,
  startTarget,
  stopProcess,
  streamOnce,
} from './targets.js';
import { imageBody, longChatBody } from './bodies.js';
import { measureStall } from './stall.js';
import { measureSessions } from './ws-sessions.js';
import { measureReport } from './report-timing.js';

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);
const DURATION_S = Number(process.env.BENCH_DURATION ?? 3);
const STREAMS_PER_ROUND = Number(process.env.BENCH_STREAMS ?? 60);
const OPEN_STREAMS = (process.env.BENCH_OPEN_STREAMS ?? '1000').split(',').map(Number);
const SWEEP_S = Number(process.env.BENCH_SWEEP_DURATION ?? 2);
/** The size sweep: long chats of 32 KB, 256 KB and 1 MB, and a question about a 300 KB image, from 4 clients. */
const LARGE_BODIES: [string, Buffer][] = [
  ['32 KB', longChatBody(32 * 1024)],
  ['256 KB', longChatBody(256 * 1024)],
  ['1 MB', longChatBody(1024 * 1024)],
  ['300 KB image', imageBody()],
];
const STALL_BODY = longChatBody(1024 * 1024);
/** The WebSocket cell: 200 sessions, a 4 KB event 20 times a second each way. */
const WS_CELL = {
  sessions: Number(process.env.BENCH_WS_SESSIONS ?? 200),
  rate: 20,
  seconds: Number(process.env.BENCH_WS_SECONDS ?? 3),
};

interface Running {
  name: string;
  url: string;
  /** The process whose CPU and memory count (the proxy; the mock for "direct"). */
  child: ChildProcess;
  headers: Record<string, string>;
}

function rssMb(pid: number): Promise<number> {
  return readFile(`/proc/${pid}/status`, 'utf8').then((status) => Number(/VmRSS:\s+(\d+)/.exec(status)![1]) / 1024);
}

async function load(target: Running, connections: number) {
  const before = await cpuMs(target.child.pid!);
  const result = await chatLoad(target.url, target.headers, { connections, seconds: DURATION_S });
  const cpu = (await cpuMs(target.child.pid!)) - before;
  const ok = result.requests - result.non2xx;
  if (result.non2xx > 0 || result.errors > 0)
    throw new Error(`${target.name}: ${result.non2xx} non-2xx and ${result.errors} errors under load`);
  return { rps: result.rps, p50: result.p50Ms, p99: result.p99Ms, cpuPerRequestUs: (cpu * 1000) / ok };
}

/** CPU per request with a large body, from 4 clients (the mock answers without reading it). */
async function largeLoad(target: Running, body: Buffer): Promise<number> {
  const before = await cpuMs(target.child.pid!);
  const result = await chatLoad(
    target.url,
    { ...target.headers, 'x-mock-ignore-body': '1' },
    { connections: 4, seconds: SWEEP_S, body },
  );
  const cpu = (await cpuMs(target.child.pid!)) - before;
  if (result.non2xx > 0 || result.errors > 0)
    throw new Error(`${target.name}: ${result.non2xx} non-2xx and ${result.errors} errors with large bodies`);
  return (cpu * 1000) / (result.requests - result.non2xx);
}

async function streams(target: Running) {
  const before = await cpuMs(target.child.pid!);
  const ttfb: number[] = [];
  const total: number[] = [];
  for (let i = 0; i < STREAMS_PER_ROUND; i++) {
    const one = await streamOnce(target.url, target.headers, target.name);
    ttfb.push(one.ttfb);
    total.push(one.total);
  }
  const cpu = (await cpuMs(target.child.pid!)) - before;
  return { ttfbP50: median(ttfb), totalP50: median(total), cpuPerStreamUs: (cpu * 1000) / STREAMS_PER_ROUND };
}

/** Opens `count` slow streams at once, waits for each to start, and reads the proxy's memory. */
async function openStreams(target: Running, count: number): Promise<number> {
  const requests: http.ClientRequest[] = [];
  let started = 0;
  await new Promise<void>((resolve, reject) => {
    for (let i = 0; i < count; i++) {
      const req = http.request(
        `${target.url}/v1/chat/completions`,
        {
          method: 'POST',
          agent: false,
          headers: {
            'content-type': 'application/json',
            'x-mock-chunks': '1',
            'x-mock-delay-ms': '120000',
            ...target.headers,
          },
        },
        (res) => {
          res.once('data', () => {
            started++;
            if (started === count) resolve();
          });
          res.on('error', () => undefined);
        },
      );
      req.on('error', reject);
      req.end(STREAM_BODY);
      requests.push(req);
    }
  });
  const rss = await rssMb(target.child.pid!);
  for (const req of requests) req.destroy();
  await new Promise((resolve) => setTimeout(resolve, 2000));
  return rss;
}

type WorkersSamples = Record<string, { cpuUs: number; rps: number }[]>;

/**
 * A cell of targets measured against each other at c=50, rounds interleaved: the running targets
 * named in `kept`, and those in `started`, started for the cell (warmed up, stopped after it).
 */
async function interleavedCell(
  label: string,
  mockUrl: string,
  dir: string,
  targets: Running[],
  kept: string[],
  started: string[],
): Promise<WorkersSamples> {
  const cell: Running[] = kept.map((name) => targets.find((t) => t.name === name)!);
  const added: Running[] = [];
  for (const name of started) {
    const running = await startTarget(name, mockUrl, dir);
    added.push({
      name,
      url: `http://127.0.0.1:${running.port}`,
      child: running.child,
      headers: { authorization: await authorizationFor(name) },
    });
  }
  cell.push(...added);
  const samples: WorkersSamples = Object.fromEntries(cell.map((t) => [t.name, []]));
  for (const target of added) await chatLoad(target.url, target.headers, { connections: 10, amount: 2000 });
  for (let round = 0; round < ROUNDS; round++) {
    for (const target of cell) {
      const c50 = await load(target, 50);
      samples[target.name]!.push({ cpuUs: c50.cpuPerRequestUs, rps: c50.rps });
    }
    process.stderr.write(
      `${label} round ${round + 1}/${ROUNDS}: ${cell.map((t) => `${t.name} ${Math.round(samples[t.name]!.at(-1)!.cpuUs)} µs`).join(', ')}\n`,
    );
  }
  await Promise.all(added.map((target) => stopProcess(target.child)));
  return samples;
}

/**
 * The workers cell: full with --workers 2 against full in one process, and the bare proxy on two
 * processes (node:cluster) against one, the floor: on a 2-core machine that also runs the load and
 * the mock, a second process costs CPU per request by itself.
 */
const workersCell = (mockUrl: string, dir: string, targets: Running[]) =>
  interleavedCell('workers', mockUrl, dir, targets, ['bare', 'full'], ['bare:w2', 'full:w2']);

/**
 * The telemetry cell: full against full with telemetry.otlp (every request traced, its spans and the
 * GenAI metrics exported to a receiver in this process that drops them). Off costs nothing by
 * construction (the SDK is not loaded; a test checks it), so this prices on.
 */
const telemetryCell = (mockUrl: string, dir: string, targets: Running[]) =>
  interleavedCell('telemetry', mockUrl, dir, targets, ['full'], ['full+otlp']);

/** Round by round a ÷ b (÷ c ÷ d when given, the floor taken out), and the median and spread of those. */
function perWorkerRound(
  samples: WorkersSamples,
  a: string,
  b: string,
  metric: 'cpuUs' | 'rps',
  c?: string,
  d?: string,
): { value: number; spread: string } {
  const rounds = samples[a]!.map((one, i) => {
    const ratio = one[metric] / samples[b]![i]![metric];
    return c && d ? ratio / (samples[c]![i]![metric] / samples[d]![i]![metric]) : ratio;
  });
  return { value: median(rounds), spread: `${Math.min(...rounds).toFixed(2)}–${Math.max(...rounds).toFixed(2)}` };
}

async function helpWallMs(): Promise<number> {
  const times: number[] = [];
  for (let i = 0; i < 7; i++) {
    const started = performance.now();
    await new Promise<void>((resolve) =>
      spawn(process.execPath, ['bin/aifd.js', '--help'], { cwd: ROOT, stdio: 'ignore' }).once('exit', () => resolve()),
    );
    times.push(performance.now() - started);
  }
  return median(times);
}

async function main(): Promise<void> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'aifd-bench-'));
  const mock = await startMock();
  const mockUrl = `http://127.0.0.1:${mock.port}`;
  const bare = await startTarget('bare', mockUrl, dir);
  const minimal = await startTarget('minimal', mockUrl, dir);
  const full = await startTarget('full', mockUrl, dir);

  const running: [string, string, ChildProcess][] = [
    ['direct', mockUrl, mock.child],
    ['bare', `http://127.0.0.1:${bare.port}`, bare.child],
    ['minimal', `http://127.0.0.1:${minimal.port}`, minimal.child],
    ['full', `http://127.0.0.1:${full.port}`, full.child],
  ];
  const targets: Running[] = [];
  for (const [name, url, child] of running)
    targets.push({ name, url, child, headers: { authorization: await authorizationFor(name) } });

  type Sample = Record<string, number>;
  const samples: Record<string, Sample[]> = Object.fromEntries(targets.map((t) => [t.name, []]));
  // warm-up: JIT, connection pools, tokenizer
  for (const target of targets) {
    await chatLoad(target.url, target.headers, { connections: 10, amount: 2000 });
    await streamOnce(target.url, target.headers, target.name);
  }
  // Before any large body: a heap grown by 1 MB requests stays grown, and this measures what streams hold.
  const memory: Record<string, Record<number, number>> = {};
  for (const target of targets.slice(1)) {
    memory[target.name] = {};
    for (const count of OPEN_STREAMS) {
      memory[target.name]![count] = await openStreams(target, count);
      process.stderr.write(
        `${target.name}: ${count} open streams, RSS ${memory[target.name]![count]!.toFixed(0)} MB\n`,
      );
    }
  }
  // Also before large bodies: RSS per open WebSocket session, while the heap is as small as it gets.
  const wsMemory: Record<string, number> = {};
  for (const target of targets.slice(1)) {
    wsMemory[target.name] = (
      await measureSessions(target.url, target.headers, target.child.pid!, { ...WS_CELL, seconds: 1 })
    ).rssKbPerSession;
    process.stderr.write(
      `${target.name}: ${WS_CELL.sessions} open sessions, ${wsMemory[target.name]!.toFixed(1)} KB each\n`,
    );
  }
  for (const target of targets.slice(1)) for (const [, body] of LARGE_BODIES) await largeLoad(target, body);
  for (let round = 0; round < ROUNDS; round++) {
    for (const target of targets) {
      const c1 = await load(target, 1);
      const c50 = await load(target, 50);
      const sse = await streams(target);
      const sample: Sample = {
        rps1: c1.rps,
        p50_1: c1.p50,
        p99_1: c1.p99,
        rps50: c50.rps,
        p50_50: c50.p50,
        p99_50: c50.p99,
        cpuUs: c50.cpuPerRequestUs,
        ttfb: sse.ttfbP50,
        total: sse.totalP50,
        cpuStreamUs: sse.cpuPerStreamUs,
      };
      if (target.name !== 'direct') {
        for (const [name, body] of LARGE_BODIES) sample[`cpuUs ${name}`] = await largeLoad(target, body);
        const stall = await measureStall(target.url, target.headers, STALL_BODY);
        sample.stallQuietP99 = stall.quietP99;
        sample.stallLoadedP99 = stall.loadedP99;
        sample.stallGrowth = stall.loadedP99 - stall.quietP99;
        const ws = await measureSessions(target.url, target.headers, target.child.pid!, WS_CELL);
        sample.wsCpuUs = ws.cpuUsPerFrame;
      }
      samples[target.name]!.push(sample);
      process.stderr.write(
        `round ${round + 1}/${ROUNDS} ${target.name}: ${Math.round(c50.rps)} req/s at c=50, ${Math.round(c50.cpuPerRequestUs)} µs CPU/req, SSE ttfb ${sse.ttfbP50.toFixed(2)} ms${sample.stallGrowth === undefined ? '' : `, 1 MB: ${Math.round(sample['cpuUs 1 MB']!)} µs CPU/req, stall +${sample.stallGrowth.toFixed(2)} ms`}\n`,
      );
    }
  }
  const figures: Record<string, Record<string, { median: number; min: number; max: number }>> = {};
  for (const [name, list] of Object.entries(samples)) {
    figures[name] = {};
    for (const metric of Object.keys(list[0]!)) {
      const values = list.map((sample) => sample[metric]!);
      figures[name]![metric] = { median: median(values), min: Math.min(...values), max: Math.max(...values) };
    }
  }
  const helpMs = await helpWallMs();
  const workers = await workersCell(mockUrl, dir, targets);
  const telemetry = await telemetryCell(mockUrl, dir, targets);
  const report = await measureReport();
  process.stderr.write(
    `usage --html over ${report.records} records: ${report.seconds.toFixed(1)} s, ${report.bytes} bytes\n`,
  );

  const m = (name: string, metric: string) => figures[name]![metric]!.median;
  // Compared round by round: each round's figure against the other target's in the same round
  // (measured seconds apart), then the median of those. The machine's speed drifts over minutes.
  // The rounds' spread goes with each figure: on this machine it is often wider than a bar's margin.
  let rounds: number[] = [];
  const perRound = (name: string, other: string, metric: string, compare: (a: number, b: number) => number) => {
    rounds = samples[name]!.map((sample, round) => compare(sample[metric]!, samples[other]![round]![metric]!));
    return median(rounds);
  };
  const ratio = (name: string, other: string, metric: string) => perRound(name, other, metric, (a, b) => a / b);
  const checks: [string, string, number, string, boolean, string][] = [];
  const check = (figure: string, target: string, value: number, bar: string, ok: boolean, spread = '—') =>
    checks.push([figure, target, value, bar, ok, spread]);
  const roundsSpread = () => `${Math.min(...rounds).toFixed(2)}–${Math.max(...rounds).toFixed(2)}`;
  for (const [name, cpuBar, rpsBar, ttfbBar, cpuStreamBar, rssBar, largeBar] of [
    ['minimal', 1.3, 0.75, 0.3, 1.2, 130, 1.3],
    ['full', 1.8, 0.6, 0.3, 1.5, 150, 2.0],
  ] as const) {
    const cpu = ratio(name, 'bare', 'cpuUs');
    check('CPU per non-streaming request ÷ bare', name, cpu, `≤ ${cpuBar}`, cpu <= cpuBar, roundsSpread());
    const cpuStream = ratio(name, 'bare', 'cpuStreamUs');
    check('CPU per stream ÷ bare', name, cpuStream, `≤ ${cpuStreamBar}`, cpuStream <= cpuStreamBar, roundsSpread());
    const rps = ratio(name, 'bare', 'rps50');
    check('req/s at c=50 ÷ bare', name, rps, `≥ ${rpsBar}`, rps >= rpsBar, roundsSpread());
    const added = perRound(name, 'direct', 'ttfb', (a, b) => a - b);
    const addedSpread = roundsSpread();
    const bareAdded = perRound('bare', 'direct', 'ttfb', (a, b) => a - b);
    check(
      'SSE TTFB p50 added over direct (ms)',
      name,
      added,
      `≤ bare's ${bareAdded.toFixed(2)} + ${ttfbBar}`,
      added <= bareAdded + ttfbBar,
      addedSpread,
    );
    for (const count of OPEN_STREAMS) {
      const bar = count <= 1000 ? rssBar : name === 'minimal' ? 900 : 1000;
      check(
        `RSS with ${count} open streams (MB)`,
        name,
        memory[name]![count]!,
        `≤ ${bar}`,
        memory[name]![count]! <= bar,
      );
    }
    for (const [body] of LARGE_BODIES) {
      if (name === 'minimal' && body.includes('image')) continue;
      const large = ratio(name, 'bare', `cpuUs ${body}`);
      check(`CPU per request ÷ bare, ${body}`, name, large, `≤ ${largeBar}`, large <= largeBar, roundsSpread());
    }
    const growth = perRound(name, name, 'stallGrowth', (a) => a);
    const growthSpread = roundsSpread();
    check('stream gap p99 growth with 1 MB prompts (ms)', name, growth, '≤ 2', growth <= 2, growthSpread);
    const overBare = perRound(name, 'bare', 'stallGrowth', (a, b) => a - b);
    check("  the same, less bare's growth (ms)", name, overBare, '—', true, roundsSpread());
    const wsCpu = ratio(name, 'bare', 'wsCpuUs');
    const wsBar = name === 'full' ? 1.5 : undefined;
    check(
      `CPU per WebSocket frame ÷ bare (${WS_CELL.sessions} sessions, 4 KB at ${WS_CELL.rate}/s each way)`,
      name,
      wsCpu,
      wsBar === undefined ? '—' : `≤ ${wsBar}`,
      wsBar === undefined || wsCpu <= wsBar,
      roundsSpread(),
    );
  }
  check('aifd --help wall time (ms)', 'minimal', helpMs, '≤ 150', helpMs <= 150);
  {
    const cpu = perWorkerRound(workers, 'full:w2', 'full', 'cpuUs');
    check('CPU per request, --workers 2 ÷ one process', 'full', cpu.value, '≤ 1.1', cpu.value <= 1.1, cpu.spread);
    const floor = perWorkerRound(workers, 'bare:w2', 'bare', 'cpuUs');
    check('  the floor: bare on 2 processes ÷ bare', 'bare', floor.value, '—', true, floor.spread);
    const over = perWorkerRound(workers, 'full:w2', 'full', 'cpuUs', 'bare:w2', 'bare');
    check('  --workers 2 ÷ one process, over the floor', 'full', over.value, '≤ 1.1', over.value <= 1.1, over.spread);
    const rps = perWorkerRound(workers, 'full:w2', 'full', 'rps');
    check('req/s at c=50, --workers 2 ÷ one process', 'full', rps.value, '—', true, rps.spread);
  }
  {
    const cpu = perWorkerRound(telemetry, 'full+otlp', 'full', 'cpuUs');
    check('CPU per request, telemetry.otlp on (every request traced) ÷ off', 'full', cpu.value, '—', true, cpu.spread);
    const rps = perWorkerRound(telemetry, 'full+otlp', 'full', 'rps');
    check('req/s at c=50, telemetry.otlp on ÷ off', 'full', rps.value, '—', true, rps.spread);
  }
  check(
    `aifd usage --html over ${report.records.toLocaleString('en')} records (s)`,
    'cli',
    report.seconds,
    '≤ 10',
    report.seconds <= 10,
  );
  check("  the report's size (MB)", 'cli', report.bytes / 2 ** 20, '≤ 5', report.bytes <= 5 * 2 ** 20);

  const lines = [
    `machine: ${os.cpus().length} × ${os.cpus()[0]?.model ?? 'cpu'}, ${Math.round(os.totalmem() / 2 ** 30)} GiB, Node ${process.version}; load from ${LOADER}; ${ROUNDS} rounds of ${DURATION_S} s, medians`,
    '',
    '| target | req/s c=1 | p50/p99 ms c=1 | req/s c=50 | p50/p99 ms c=50 | CPU µs/req | SSE TTFB p50 ms | SSE total p50 ms | CPU µs/stream |',
    '|---|---|---|---|---|---|---|---|---|',
    ...targets.map((t) => {
      const f = (metric: string, digits = 0) => m(t.name, metric).toFixed(digits);
      return `| ${t.name} | ${f('rps1')} | ${f('p50_1', 1)}/${f('p99_1', 1)} | ${f('rps50')} | ${f('p50_50', 1)}/${f('p99_50', 1)} | ${t.name === 'direct' ? '(mock)' : f('cpuUs')} | ${f('ttfb', 2)} | ${f('total', 1)} | ${t.name === 'direct' ? '(mock)' : f('cpuStreamUs')} |`;
    }),
    '',
    `| large requests, 4 clients | ${LARGE_BODIES.map(([name]) => `CPU µs/req ${name}`).join(' | ')} | stream gap p99 ms, quiet / with 1 MB prompts |`,
    `|---|${LARGE_BODIES.map(() => '---').join('|')}|---|`,
    ...targets
      .slice(1)
      .map(
        (t) =>
          `| ${t.name} | ${LARGE_BODIES.map(([name]) => m(t.name, `cpuUs ${name}`).toFixed(0)).join(' | ')} | ${m(t.name, 'stallQuietP99').toFixed(1)} / ${m(t.name, 'stallLoadedP99').toFixed(1)} |`,
      ),
    '',
    `| WebSocket sessions (${WS_CELL.sessions}, 4 KB frames at ${WS_CELL.rate}/s each way) | CPU µs/frame | RSS KB per open session |`,
    '|---|---|---|',
    ...targets
      .slice(1)
      .map((t) => `| ${t.name} | ${m(t.name, 'wsCpuUs').toFixed(1)} | ${wsMemory[t.name]!.toFixed(1)} |`),
    '',
    `| open streams | ${OPEN_STREAMS.map((count) => `RSS MB at ${count}`).join(' | ')} |`,
    `|---|${OPEN_STREAMS.map(() => '---').join('|')}|`,
    ...Object.entries(memory).map(
      ([name, byCount]) => `| ${name} | ${OPEN_STREAMS.map((count) => byCount[count]!.toFixed(0)).join(' | ')} |`,
    ),
    '',
    '| workers and telemetry cells, c=50 | CPU µs/req | req/s |',
    '|---|---|---|',
    ...Object.entries({
      ...workers,
      'full (telemetry cell)': telemetry.full!,
      'full+otlp': telemetry['full+otlp']!,
    }).map(
      ([name, list]) =>
        `| ${name} | ${median(list.map((one) => one.cpuUs)).toFixed(0)} | ${median(list.map((one) => one.rps)).toFixed(0)} |`,
    ),
    '',
    '| figure | target | value (median) | rounds, min–max | bar | holds |',
    '|---|---|---|---|---|---|',
    ...checks.map(
      ([figure, target, value, bar, ok, spread]) =>
        `| ${figure} | ${target} | ${value.toFixed(2)} | ${spread} | ${bar} | ${bar === '—' ? '—' : ok ? 'yes' : 'NO'} |`,
    ),
  ];
  process.stdout.write(lines.join('\n') + '\n');
  await mkdir(path.join(ROOT, 'bench', 'results'), { recursive: true });
  // A second run on the same day gets its own file (-2, -3, …): an earlier run's figures stay, as quoted.
  const day = new Date().toISOString().slice(0, 10);
  const taken = new Set(await readdir(path.join(ROOT, 'bench', 'results')));
  let file = path.join(ROOT, 'bench', 'results', `${day}.json`);
  for (let n = 2; taken.has(path.basename(file)); n++) file = path.join(ROOT, 'bench', 'results', `${day}-${n}.json`);
  await writeFile(
    file,
    JSON.stringify(
      {
        date: new Date().toISOString(),
        machine: {
          cpus: os.cpus().length,
          model: os.cpus()[0]?.model,
          memGiB: Math.round(os.totalmem() / 2 ** 30),
          node: process.version,
        },
        loader: LOADER,
        rounds: ROUNDS,
        durationS: DURATION_S,
        figures,
        memory,
        wsMemory,
        workers,
        telemetry,
        report,
        helpMs,
        checks: checks.map(([figure, target, value, bar, ok, spread]) => ({
          figure,
          target,
          value,
          rounds: spread,
          bar,
          ok,
        })),
        table: lines,
      },
      null,
      2,
    ) + '\n',
  );
  process.stderr.write(`saved ${path.relative(ROOT, file)}\n`);
  await Promise.all([mock.child, bare.child, minimal.child, full.child].map(stopProcess));
}

await main();
process.exit(0);
