// `node --import tsx bench/profile.ts <bare|minimal|full|full-limits|…>`: runs one target of the
// benchmark under --cpu-prof with load from autocannon and prints where its CPU went during the
// measured load (after a warm-up): self time by function (µs per request), aifd's own functions with
// what they call, and self time by place. PROF_INTERVAL (µs) sets the sampling interval;
// POS=<function name or file:line> prints that function's ticks by line.
import { mkdtemp, readdir, readFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { authorizationFor, chatLoad, startMock, startTarget, stopProcess } from './targets.js';
import { loadFromEnv } from './bodies.js';

const sent = loadFromEnv();

const which = process.argv[2] ?? 'minimal';
const dir = await mkdtemp(path.join(os.tmpdir(), 'aifd-profile-'));
const mock = await startMock();
const mockUrl = `http://127.0.0.1:${mock.port}`;
const prof = [
  '--cpu-prof',
  `--cpu-prof-dir=${dir}`,
  ...(process.env.PROF_INTERVAL ? [`--cpu-prof-interval=${process.env.PROF_INTERVAL}`] : []),
];
const target = await startTarget(which, mockUrl, dir, prof);
const baseUrl = `http://127.0.0.1:${target.port}`;
const headers = { authorization: await authorizationFor(which) };
// Start-up and a warm-up load (module compiles, lazy imports, JIT) stay out of the figures: only
// samples taken during the measured load count (both clocks are CLOCK_MONOTONIC).
await chatLoad(
  baseUrl,
  { ...headers, ...sent.headers },
  { connections: sent.connections, seconds: 2, body: sent.body },
);
const measuredFrom = Number(process.hrtime.bigint() / 1000n);
const result = await chatLoad(
  baseUrl,
  { ...headers, ...sent.headers },
  { connections: sent.connections, seconds: 5, body: sent.body },
);
const measuredTo = Number(process.hrtime.bigint() / 1000n);
console.log(`${which}: ${Math.round(result.rps)} req/s`);
await stopProcess(target.child);
await stopProcess(mock.child);
const file = (await readdir(dir)).find((name) => name.endsWith('.cpuprofile'))!;
const profile = JSON.parse(await readFile(path.join(dir, file), 'utf8')) as {
  nodes: { id: number; callFrame: { functionName: string; url: string; lineNumber: number } }[];
  startTime: number;
  samples: number[];
  timeDeltas: number[];
};
const time = new Map<number, number>();
let sampledAt = profile.startTime;
profile.samples.forEach((id, i) => {
  const delta = profile.timeDeltas[i] ?? 0;
  sampledAt += delta;
  if (sampledAt >= measuredFrom && sampledAt <= measuredTo) time.set(id, (time.get(id) ?? 0) + delta);
});
const self = new Map<string, number>();
let total = 0;
for (const node of profile.nodes) {
  const t = time.get(node.id) ?? 0;
  total += t;
  const key = `${node.callFrame.functionName || '(anon)'} ${node.callFrame.url.split('/').slice(-2).join('/')}:${node.callFrame.lineNumber}`;
  self.set(key, (self.get(key) ?? 0) + t);
}
const perRequest = (t: number) => `${(t / result.requests).toFixed(2).padStart(6)} µs/req`;
console.log(`total ${perRequest(total)}`);
for (const [key, t] of [...self.entries()].sort((a, b) => b[1] - a[1]).slice(0, Number(process.env.TOP ?? 30)))
  console.log(`${((t / total) * 100).toFixed(1).padStart(5)}% ${perRequest(t)} ${key}`);
// Self time by where the code lives: aifd's own modules, http-proxy-3, node internals, other packages.
const byPlace = new Map<string, number>();
for (const node of profile.nodes) {
  const url = node.callFrame.url;
  const place = url.includes('node_modules/')
    ? url.split('node_modules/').at(-1)!.split('/')[0]!
    : url.includes('/dist/')
      ? `aifd ${url.split('/dist/')[1]!.split('/')[0]}`
      : url.startsWith('node:')
        ? 'node'
        : url === ''
          ? node.callFrame.functionName || '(native)'
          : 'other';
  byPlace.set(place, (byPlace.get(place) ?? 0) + (time.get(node.id) ?? 0));
}
// Inclusive time of aifd's own functions (what each costs with everything it calls).
const children = new Map<number, number[]>();
const byId = new Map(profile.nodes.map((node) => [node.id, node]));
for (const node of profile.nodes as { id: number; children?: number[] }[]) children.set(node.id, node.children ?? []);
const inclusive = new Map<string, number>();
const walk = (id: number, seen: Set<string>): number => {
  const node = byId.get(id)!;
  const key = `${node.callFrame.functionName || '(anon)'} ${node.callFrame.url.split('/').slice(-2).join('/')}:${node.callFrame.lineNumber}`;
  const mine = node.callFrame.url.includes('/dist/') && !node.callFrame.url.includes('node_modules/');
  const inner = new Set(seen);
  if (mine) inner.add(key);
  let t = time.get(id) ?? 0;
  for (const child of children.get(id)!) t += walk(child, inner);
  if (mine && !seen.has(key)) inclusive.set(key, (inclusive.get(key) ?? 0) + t);
  return t;
};
walk(profile.nodes[0]!.id, new Set());
console.log('--- aifd inclusive');
for (const [key, t] of [...inclusive.entries()].sort((a, b) => b[1] - a[1]).slice(0, 25))
  console.log(`${((t / total) * 100).toFixed(1).padStart(5)}% ${key}`);
console.log('--- by place');
for (const [place, t] of [...byPlace.entries()].sort((a, b) => b[1] - a[1]).slice(0, 15))
  console.log(`${((t / total) * 100).toFixed(1).padStart(5)}% ${place}`);
if (process.env.POS) {
  for (const node of profile.nodes as {
    callFrame: { functionName: string; url: string; lineNumber: number };
    positionTicks?: { line: number; ticks: number }[];
  }[]) {
    if (
      node.callFrame.functionName !== process.env.POS &&
      !`${node.callFrame.url}:${node.callFrame.lineNumber}`.endsWith(process.env.POS)
    )
      continue;
    console.log(node.callFrame.functionName, node.callFrame.url, JSON.stringify(node.positionTicks ?? []));
  }
}
process.exit(0);
