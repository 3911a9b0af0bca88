/**
 * `node --import tsx bench/quick.ts [bare,minimal,full]`: CPU per request at c=50 only, for tuning
 * (`full-sink`, `full-access`, `full-limits`, `full-admin`: full without that feature, to price it)
 * between full `npm run bench` runs. Targets take turns, round by round; each round's CPU is also
 * divided by the bare proxy's in the same round, and the median of those ratios is the figure to
 * read (on a noisy machine a round's neighbours share its conditions).
 *
 * KIND=stream measures CPU per stream instead (streams one after another, 20 chunks 5 ms apart);
 * KIND=stall the stall figure (bench/stall.ts: 100 streams' gap p99 with and without a client
 * sending large prompts). BODY=32k|256k|1m|image sends that body instead of the 200-byte chat (c=4,
 * as teams send long prompts, not fifty at a time); the stall figure sends BODY (1m unless given).
 * A target named `minimal@NAME` runs aifd minimal with the environment variable NAME=1, for A/B
 * tests of a change behind `process.env.NAME`. `bare+relay+body`, `bare~5` and the like are the
 * bare proxy with pieces of aifd's work added (bench/bare-variants.ts), to price them.
 * Env: ROUNDS (9), SECONDS (1, a round's length), AIFD_FLAGS (node flags for the aifd processes).
 */
import { mkdtemp } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import {
  authorizationFor,
  chatLoad,
  cpuMs,
  median,
  startMock,
  startTarget,
  stopProcess,
  streamOnce,
  type Started,
} from './targets.js';
import { bodyNamed, loadFromEnv } from './bodies.js';
import { measureStall } from './stall.js';

const names = (process.argv[2] ?? 'bare,minimal,full').split(',');
const rounds = Number(process.env.ROUNDS ?? 9);
const seconds = Number(process.env.SECONDS ?? 1);
const streaming = process.env.KIND === 'stream';
const stalling = process.env.KIND === 'stall';
const sent = loadFromEnv();
const largeBody = bodyNamed(process.env.BODY ?? '1m')!;
const aifdFlags = process.env.AIFD_FLAGS ? process.env.AIFD_FLAGS.split(' ') : [];

interface Target extends Started {
  name: string;
  baseUrl: string;
  headers: Record<string, string>;
  cpuUs: number[];
}

const dir = await mkdtemp(path.join(os.tmpdir(), 'aifd-quick-'));
const mock = await startMock();
const mockUrl = `http://127.0.0.1:${mock.port}`;
const targets: Target[] = [];
for (const name of names) {
  const [config, flag] = name.split('@') as [string, string | undefined];
  if (flag) process.env[flag] = '1';
  const started = await startTarget(config, mockUrl, dir, config.startsWith('bare') ? [] : aifdFlags);
  if (flag) delete process.env[flag];
  targets.push({
    ...started,
    name,
    baseUrl: `http://127.0.0.1:${started.port}`,
    headers: { authorization: await authorizationFor(config) },
    cpuUs: [],
  });
}

/** Load for about `duration` seconds; resolves with the number of requests (or streams) served. */
async function load(target: Target, duration: number): Promise<number> {
  if (streaming) {
    let count = 0;
    for (const until = performance.now() + duration * 1000; performance.now() < until; count++)
      await streamOnce(target.baseUrl, target.headers, target.name);
    return count;
  }
  const result = await chatLoad(
    target.baseUrl,
    { ...target.headers, ...sent.headers },
    { connections: sent.connections, seconds: duration, body: sent.body },
  );
  if (result.non2xx > 0 || result.requests === 0)
    throw new Error(`${target.name}: ${result.non2xx} non-2xx of ${result.requests}`);
  return result.requests;
}

if (stalling) {
  for (let round = 0; round < rounds; round++) {
    for (const target of targets) {
      const sample = await measureStall(target.baseUrl, target.headers, largeBody);
      console.log(
        `round ${round + 1} ${target.name}: gap p99 ${sample.quietP99.toFixed(2)} ms quiet, ${sample.loadedP99.toFixed(2)} ms with ${sample.prompts} large prompts: +${(sample.loadedP99 - sample.quietP99).toFixed(2)} ms`,
      );
    }
  }
  await Promise.all([...targets, mock].map((started) => stopProcess(started.child)));
  process.exit(0);
}
for (const target of targets) await load(target, 1);
for (let round = 0; round < rounds; round++) {
  for (const target of targets) {
    const before = await cpuMs(target.child.pid!);
    const served = await load(target, seconds);
    target.cpuUs.push((((await cpuMs(target.child.pid!)) - before) * 1000) / served);
  }
}
const unit = streaming ? 'stream' : 'req';
const bare = targets.find((target) => target.name === 'bare');
for (const target of targets) {
  const ratios = bare && target !== bare ? target.cpuUs.map((cpu, i) => cpu / bare.cpuUs[i]!) : [];
  const ratio =
    ratios.length > 0
      ? `, ÷ bare per round: median ${median(ratios).toFixed(2)} (${ratios.map((r) => r.toFixed(2)).join(' ')})`
      : '';
  console.log(
    `${target.name}: ${median(target.cpuUs).toFixed(0)} µs CPU/${unit} (min ${Math.min(...target.cpuUs).toFixed(0)})${ratio}`,
  );
}
await Promise.all([...targets, mock].map((started) => stopProcess(started.child)));
process.exit(0);
