/**
 * `node --import tsx bench/gc.ts <bare|minimal|full|full-…> [--sites]`: what one target allocates
 * per request at c=50, what of it is promoted to old space, and the GC time it costs (from
 * --trace-gc-nvp). Bare http-proxy-3 promotes next to nothing: a request's objects die young. When
 * aifd promotes kilobytes a request, something keeps finished requests reachable across young GCs;
 * `--sites` then lists where the surviving objects were allocated (stack tails, bytes a request);
 * `--sites=all` lists where everything was allocated, by aifd's innermost function on the stack.
 * Env: SECONDS (4), DEPTH (stack frames shown, 4), TOP (sites shown, 25).
 */
import { mkdtemp, readFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { authorizationFor, chatLoad, startMock, startTarget, stopProcess } from './targets.js';
import { loadFromEnv } from './bodies.js';

const sent = loadFromEnv();

const which = process.argv[2] ?? 'minimal';
const sitesArg = process.argv.find((arg) => arg.startsWith('--sites'));
const withSites = sitesArg !== undefined;
const allSites = sitesArg === '--sites=all';
const seconds = Number(process.env.SECONDS ?? 4);
const depth = Number(process.env.DEPTH ?? 4);

const dir = await mkdtemp(path.join(os.tmpdir(), 'aifd-gc-'));
const samplesFile = path.join(dir, 'survivors.json');
process.env.SURVIVOR_SAMPLES = samplesFile;
if (allSites) process.env.SAMPLE_ALL = '1';
const flags = ['--trace-gc-nvp', ...(withSites ? ['--import', './bench/survivor-sampler.mjs'] : [])];
const mock = await startMock();
const mockUrl = `http://127.0.0.1:${mock.port}`;
const target = await startTarget(which, mockUrl, dir, flags);
const baseUrl = `http://127.0.0.1:${target.port}`;
const headers = { authorization: await authorizationFor(which) };

let output = '';
target.child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
target.child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
const said = (text: string) => waitForOutput(target.child.stderr!, () => output.includes(text));

await chatLoad(
  baseUrl,
  { ...headers, ...sent.headers },
  { connections: sent.connections, seconds: 2, body: sent.body },
);
if (withSites) {
  target.child.kill('SIGUSR2');
  await said('survivor-sampler: on');
}
const from = output.length;
const result = await chatLoad(
  baseUrl,
  { ...headers, ...sent.headers },
  { connections: sent.connections, seconds, body: sent.body },
);
const traced = output.slice(from);
if (withSites) {
  target.child.kill('SIGUSR2');
  await said('survivor-sampler: written');
}
const requests = result.requests;

const gc = { allocated: 0, promoted: 0, pauseMs: 0, young: 0, full: 0 };
for (const line of traced.split('\n')) {
  const kind = /\bgc=(\w+)/.exec(line)?.[1];
  if (!kind) continue;
  const field = (name: string) => Number(new RegExp(`\\b${name}=([\\d.]+)`).exec(line)?.[1] ?? 0);
  gc.allocated += field('allocated');
  gc.promoted += field('promoted');
  gc.pauseMs += field('pause');
  if (kind === 's') gc.young++;
  else gc.full++;
}
const kb = (bytes: number) => (bytes / requests / 1024).toFixed(2);
console.log(
  `${which}: ${requests} requests; allocated ${kb(gc.allocated)} KB a request, promoted ${kb(gc.promoted)} KB; ` +
    `${gc.young} young and ${gc.full} other GCs, pausing ${((gc.pauseMs * 1000) / requests).toFixed(1)} µs a request`,
);

if (withSites) {
  interface SampleNode {
    callFrame: { functionName: string; url: string; lineNumber: number };
    selfSize: number;
    children?: SampleNode[];
  }
  const profile = JSON.parse(await readFile(samplesFile, 'utf8')) as { head: SampleNode };
  const bytesBySite = new Map<string, number>();
  // Survivors by the tail of their allocation stack; everything (--sites=all) by aifd's innermost function.
  const walk = (node: SampleNode, stack: string[], owner: string) => {
    const { functionName, url, lineNumber } = node.callFrame;
    const name = `${functionName || '(anon)'} ${url.split('/').slice(-2).join('/')}:${lineNumber}`;
    const here = [...stack, name];
    const ours = url.includes('/dist/') && !url.includes('node_modules/') ? name : owner;
    if (node.selfSize > 0) {
      const site = allSites ? ours : here.slice(-depth).join(' > ');
      bytesBySite.set(site, (bytesBySite.get(site) ?? 0) + node.selfSize);
    }
    for (const child of node.children ?? []) walk(child, here, ours);
  };
  walk(profile.head, [], '(outside aifd)');
  const total = [...bytesBySite.values()].reduce((sum, bytes) => sum + bytes, 0);
  console.log(
    `${allSites ? 'allocated' : 'survived a young GC'} (sampled): ${(total / requests).toFixed(0)} bytes a request`,
  );
  const top = [...bytesBySite.entries()].sort((a, b) => b[1] - a[1]).slice(0, Number(process.env.TOP ?? 25));
  for (const [site, bytes] of top) console.log(`${(bytes / requests).toFixed(0).padStart(7)} B  ${site}`);
}

await Promise.all([stopProcess(target.child), stopProcess(mock.child)]);
process.exit(0);

function waitForOutput(stream: Readable, done: () => boolean): Promise<void> {
  return new Promise((resolve) => {
    if (done()) return resolve();
    const check = () => {
      if (!done()) return;
      stream.off('data', check);
      resolve();
    };
    stream.on('data', check);
  });
}
