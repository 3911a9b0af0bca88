/**
 * `node --import tsx bench/perf.ts bare,minimal`: records each target with Linux `perf` (kernel and
 * native frames too, which --cpu-prof does not see) during a 4 s load at c=50, and prints, per
 * request, where the CPU went by binary (node, kernel, JIT code, libc) and the native symbols whose
 * cost differs most from the first target's. The kernel's share is mostly the loopback sends, which
 * wake the peer (the load generator, the mock) inside `writev`. JIT symbols come from
 * --perf-basic-prof and can be stale when V8 moves code; native and kernel symbols are exact.
 * Env: TOP (symbols shown, 30). Needs `perf` (linux-perf) and permission to record other processes.
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdtemp } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { authorizationFor, chatLoad, startMock, startTarget, stopProcess } from './targets.js';

const names = (process.argv[2] ?? 'bare,minimal').split(',');
const top = Number(process.env.TOP ?? 30);
const SAMPLE_HZ = 2000;
const dir = await mkdtemp(path.join(os.tmpdir(), 'aifd-perf-'));
const mock = await startMock();
const mockUrl = `http://127.0.0.1:${mock.port}`;

interface Recorded {
  name: string;
  /** µs of CPU a request, by binary and by symbol. */
  byDso: Map<string, number>;
  bySymbol: Map<string, number>;
}

async function record(name: string): Promise<Recorded> {
  const flags = ['--perf-basic-prof-only-functions', '--interpreted-frames-native-stack'];
  const target = await startTarget(name, mockUrl, dir, flags);
  const url = `http://127.0.0.1:${target.port}`;
  const headers = { authorization: await authorizationFor(name) };
  await chatLoad(url, headers, { connections: 50, seconds: 2 });
  const data = path.join(dir, `${name.replace(/\W/g, '_')}.data`);
  const perf = spawn(
    'perf',
    ['record', '-q', '-F', String(SAMPLE_HZ), '-g', '-o', data, '-p', String(target.child.pid)],
    { stdio: 'ignore' },
  );
  const load = await chatLoad(url, headers, { connections: 50, seconds: 4 });
  const exited = new Promise((resolve) => perf.once('exit', resolve));
  perf.kill('SIGINT');
  await exited;
  await stopProcess(target.child);
  const usPerSample = 1e6 / SAMPLE_HZ / load.requests;
  return { name, byDso: report(data, 'dso', usPerSample), bySymbol: report(data, 'sym', usPerSample) };
}

/** `perf report` rows (sample counts) as µs a request, keyed by the sorted column. */
function report(data: string, sort: 'dso' | 'sym', usPerSample: number): Map<string, number> {
  const args = ['report', '-i', data, '--stdio', '--no-children', '--sort', sort, '-g', 'none', '-n', '-q'];
  const output = spawnSync('perf', args, { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 }).stdout;
  const rows = new Map<string, number>();
  for (const line of output.split('\n')) {
    const match = /^\s*[\d.]+%\s+(\d+)\s+(?:\[.\]\s+)?(.+?)\s*$/.exec(line);
    if (!match) continue;
    // JIT code is listed per thread ("[JIT] tid 123"): one row for all of it.
    const key = match[2]!.startsWith('[JIT]') ? '[JIT]' : match[2]!;
    rows.set(key, (rows.get(key) ?? 0) + Number(match[1]) * usPerSample);
  }
  return rows;
}

const recorded: Recorded[] = [];
for (const name of names) recorded.push(await record(name));
await stopProcess(mock.child);

const sum = (rows: Map<string, number>) => [...rows.values()].reduce((total, value) => total + value, 0);
const cell = (value: number | undefined) => (value ?? 0).toFixed(2).padStart(8);
console.log(`µs of CPU a request    ${recorded.map((r) => r.name.padStart(8)).join(' ')}`);
console.log(`total                  ${recorded.map((r) => cell(sum(r.byDso))).join(' ')}`);
const dsos = [...recorded[0]!.byDso.keys()].slice(0, 6);
for (const dso of dsos)
  console.log(`${dso.slice(0, 22).padEnd(22)} ${recorded.map((r) => cell(r.byDso.get(dso))).join(' ')}`);
const [first, ...rest] = recorded;
for (const other of rest) {
  const symbols = new Set([...first!.bySymbol.keys(), ...other.bySymbol.keys()]);
  const gain = (symbol: string) => (other.bySymbol.get(symbol) ?? 0) - (first!.bySymbol.get(symbol) ?? 0);
  console.log(
    `\nsymbols costing ${other.name} the most over ${first!.name} (µs a request: ${first!.name}, ${other.name}, difference)`,
  );
  for (const symbol of [...symbols].sort((a, b) => gain(b) - gain(a)).slice(0, top)) {
    console.log(
      `${cell(first!.bySymbol.get(symbol))} ${cell(other.bySymbol.get(symbol))} ${cell(gain(symbol))}  ${symbol.slice(0, 100)}`,
    );
  }
}
process.exit(0);
