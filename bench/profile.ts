// `node --import tsx bench/profile.ts <bare|minimal|full|full-limits|…>`: runs one target of the benchmark under
// --cpu-prof with load from autocannon and prints where its CPU went: self time by function (µs per
// request), aifd's own functions with what they call, and self time by place. PROF_INTERVAL (µs)
// sets the sampling interval.
import { mkdtemp, readdir, readFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import autocannon from 'autocannon';
import { benchToken, configFor, startAifd, startBare, startMock, stopProcess } from './targets.js';

const which = process.argv[2] ?? 'minimal';
const dir = await mkdtemp(path.join(os.tmpdir(), 'aifd-profile-'));
const mock = await startMock();
const mockUrl = `http://127.0.0.1:${mock.port}`;
const prof = ['--cpu-prof', `--cpu-prof-dir=${dir}`, ...(process.env.PROF_INTERVAL ? [`--cpu-prof-interval=${process.env.PROF_INTERVAL}`] : [])];
const target =
  which === 'bare' ? await startBare(mockUrl, prof) : await startAifd(which, configFor(which, mockUrl, dir), dir, prof);
const authorization = which.startsWith('full') ? `Bearer ${await benchToken()}` : 'Bearer sk-direct';
const result = await autocannon({
  url: `http://127.0.0.1:${target.port}/v1/chat/completions`,
  method: 'POST',
  connections: 50,
  duration: 5,
  headers: { 'content-type': 'application/json', authorization },
  body: JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'Say hello in one short sentence, please.' }] }),
});
console.log(`${which}: ${Math.round(result.requests.average)} req/s`);
await stopProcess(target.child);
await stopProcess(mock.child);
const file = (await readdir(dir)).find((name) => name.endsWith('.cpuprofile'))!;
const profile = JSON.parse(await readFile(path.join(dir, file), 'utf8')) as { nodes: { id: number; callFrame: { functionName: string; url: string; lineNumber: number } }[]; samples: number[]; timeDeltas: number[] };
const time = new Map<number, number>();
profile.samples.forEach((id, i) => time.set(id, (time.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0)));
const self = new Map<string, number>();
let total = 0;
for (const node of profile.nodes) {
  const t = time.get(node.id) ?? 0;
  total += t;
  const key = `${node.callFrame.functionName || '(anon)'} ${node.callFrame.url.split('/').slice(-2).join('/')}:${node.callFrame.lineNumber}`;
  self.set(key, (self.get(key) ?? 0) + t);
}
const perRequest = (t: number) => `${(t / result.requests.total).toFixed(2).padStart(6)} µs/req`;
console.log(`total ${perRequest(total)}`);
for (const [key, t] of [...self.entries()].sort((a, b) => b[1] - a[1]).slice(0, Number(process.env.TOP ?? 30))) console.log(`${((t / total) * 100).toFixed(1).padStart(5)}% ${perRequest(t)} ${key}`);
// Self time by where the code lives: aifd's own modules, http-proxy-3, node internals, other packages.
const byPlace = new Map<string, number>();
for (const node of profile.nodes) {
  const url = node.callFrame.url;
  const place = url.includes('/dist/') ? `aifd ${url.split('/dist/')[1]!.split('/')[0]}` : url.includes('http-proxy-3') ? 'http-proxy-3' : url.startsWith('node:') ? 'node' : url === '' ? node.callFrame.functionName || '(native)' : url.includes('node_modules') ? url.split('node_modules/')[1]!.split('/')[0]! : 'other';
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
  const mine = node.callFrame.url.includes('/dist/') && !node.callFrame.url.includes('node_modules');
  const inner = new Set(seen);
  if (mine) inner.add(key);
  let t = time.get(id) ?? 0;
  for (const child of children.get(id)!) t += walk(child, inner);
  if (mine && !seen.has(key)) inclusive.set(key, (inclusive.get(key) ?? 0) + t);
  return t;
};
walk(profile.nodes[0]!.id, new Set());
console.log('--- aifd inclusive');
for (const [key, t] of [...inclusive.entries()].sort((a, b) => b[1] - a[1]).slice(0, 25)) console.log(`${((t / total) * 100).toFixed(1).padStart(5)}% ${key}`);
console.log('--- by place');
for (const [place, t] of [...byPlace.entries()].sort((a, b) => b[1] - a[1]).slice(0, 15)) console.log(`${((t / total) * 100).toFixed(1).padStart(5)}% ${place}`);
process.exit(0);
