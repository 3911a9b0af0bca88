// `node --import tsx bench/profile.ts <minimal|full|bare>`: runs one target under --cpu-prof with
// load from autocannon and prints where its CPU went (self time by function), for tuning.
import { spawn } from 'node:child_process';
import { mkdtemp, readdir, readFile, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import autocannon from 'autocannon';

const which = process.argv[2] ?? 'minimal';
const dir = await mkdtemp(path.join(os.tmpdir(), 'aifd-profile-'));
function start(args: string[], env: Record<string, string> = {}): Promise<{ port: number; kill: () => Promise<void> }> {
  const child = spawn(process.execPath, args, { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  return new Promise((resolve) => {
    let out = '';
    const on = (chunk: Buffer) => {
      out += chunk;
      const match = /"port":(\d+)/.exec(out) ?? /listening on http:\/\/[^:]+:(\d+)/.exec(out);
      if (match) resolve({ port: Number(match[1]), kill: () => new Promise<void>((done) => { child.once('exit', () => done()); child.kill('SIGTERM'); }) });
    };
    child.stdout!.on('data', on);
    child.stderr!.on('data', on);
  });
}
const mock = await start(['--import', 'tsx', 'bench/mock-server.ts']);
const mockUrl = `http://127.0.0.1:${mock.port}`;
const prof = ['--cpu-prof', `--cpu-prof-dir=${dir}`, ...(process.env.PROF_INTERVAL ? [`--cpu-prof-interval=${process.env.PROF_INTERVAL}`] : [])];
let target;
let authorization = 'Bearer x';
if (which === 'bare') target = await start([...prof, '--import', 'tsx', 'bench/bare-proxy.ts'], { TARGET: mockUrl });
else if (which === 'prod') {
  // The benchmark's "full" config: pool of 8 keys, JWT, 20 ACL rules, request and token limits, access log.
  const secret = 'bench-secret-that-is-long-enough-for-hs256!!';
  const rules = Array.from({ length: 19 }, (_, i) => ({ roles: [`team-${i}`], paths: ['/v1/chat/completions'], models: ['gpt-4o-mini'], effect: 'allow' }));
  await writeFile(
    path.join(dir, 'c.json'),
    JSON.stringify({
      listen: { port: 0 },
      admin: { port: 0 },
      store: `sqlite://${path.join(dir, 'state.sqlite')}`,
      upstreams: [{ name: 'mock', baseUrl: mockUrl, keys: Array.from({ length: 8 }, (_, i) => `sk-bench-pool-key-${i}-0000000000000000`) }],
      auth: { jwt: { secret } },
      acl: { default: 'deny', rules: [...rules, { roles: ['bench'], paths: ['/v1/*'], models: ['gpt-4o*'], effect: 'allow' }] },
      limits: { user: { requests: '1000000/minute', tokens: '1000000000/day' } },
      logs: { dir, access: true },
    }),
  );
  const { signToken } = await import('../src/auth/tokens.js');
  const { authSchema } = await import('../src/config/schema.js');
  authorization = `Bearer ${(await signToken(authSchema.parse({ jwt: { secret } }).jwt!, { user: 'bench-user', roles: ['bench'], models: [], paths: [], expiresInSec: 3600 })).token}`;
  target = await start([...prof, 'bin/aifd.js', 'run', '--config', path.join(dir, 'c.json')]);
} else {
  await writeFile(path.join(dir, 'c.json'), JSON.stringify({ listen: { port: 0 }, admin: { enabled: false }, store: 'memory://', upstreams: [{ name: 'mock', baseUrl: mockUrl }], logs: { dir, access: which === 'full', sink: 'none' } }));
  target = await start([...prof, 'bin/aifd.js', 'run', '--config', path.join(dir, 'c.json')]);
}
const result = await autocannon({ url: `http://127.0.0.1:${target.port}/v1/chat/completions`, method: 'POST', connections: 50, duration: 5, headers: { 'content-type': 'application/json', authorization }, body: JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }] }) });
console.log(`${which}: ${Math.round(result.requests.average)} req/s`);
await target.kill();
await mock.kill();
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
