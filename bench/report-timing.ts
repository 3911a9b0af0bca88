/**
 * The usage report over a big access log: RECORDS records (1,000,000 unless given) spread over a
 * week and 50 users, written as aifd writes them, then `aifd usage --html` run as a process on
 * them, several times. Wall time and the report's size. `node --import tsx bench/report-timing.ts`
 * runs it alone.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { createWriteStream } from 'node:fs';
import { mkdir, mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { AccessRecord } from '../src/logs/access-record.js';
import { ROOT, median } from './targets.js';

export interface ReportTiming {
  records: number;
  /** Median wall time of `aifd usage --html`, in seconds. */
  seconds: number;
  runs: number[];
  bytes: number;
  logBytes: number;
}

const DAYS = ['2026-12-01', '2026-12-02', '2026-12-03', '2026-12-04', '2026-12-05', '2026-12-06', '2026-12-07'];
const MODELS = ['gpt-4o-mini-2024-07-18', 'gpt-4o-2024-08-06', 'text-embedding-3-small'];

async function writeAccessLog(dir: string, records: number): Promise<number> {
  const logs = path.join(dir, 'logs');
  await mkdir(logs, { recursive: true });
  let bytes = 0;
  const perDay = Math.ceil(records / DAYS.length);
  for (const [d, day] of DAYS.entries()) {
    const out = createWriteStream(path.join(logs, `access-${day}.log`));
    for (let i = d * perDay; i < Math.min(records, (d + 1) * perDay); i++) {
      const seconds = Math.floor(((i - d * perDay) / perDay) * 86_400);
      const record: AccessRecord = {
        ts: new Date(Date.parse(`${day}T00:00:00Z`) + seconds * 1000).toISOString(),
        id: `req_${i.toString(16).padStart(12, '0')}`,
        user: `user-${i % 50}`,
        ip: '10.0.0.7',
        method: 'POST',
        route: '/',
        path: '/v1/chat/completions',
        model: MODELS[i % MODELS.length]!,
        alias: null,
        stream: i % 3 === 0,
        status: i % 97 === 0 ? 429 : 200,
        upstream: 'openai',
        key: 'a1b2c3d4e5f6',
        attempts: 1,
        cache: null,
        ttfbMs: 200 + (i % 300),
        overheadMs: 0.4,
        queueMs: 0,
        durationMs: 800 + (i % 2000),
        usage: { prompt_tokens: 1200 + (i % 500), completion_tokens: 150 + (i % 200), total_tokens: 1350 + (i % 700) },
        usageSource: 'upstream',
        error: i % 97 === 0 ? 'rate_limit_exceeded' : null,
      };
      const line = `${JSON.stringify(record)}\n`;
      bytes += line.length;
      if (!out.write(line)) await once(out, 'drain');
    }
    out.end();
    await once(out, 'finish');
  }
  return bytes;
}

function runReport(config: string, file: string): Promise<number> {
  const started = performance.now();
  const child = spawn(
    process.execPath,
    ['bin/aifd.js', 'usage', '--config', config, '--html', file, '--since', DAYS[0]!, '--until', '2026-12-08'],
    { cwd: ROOT, stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let stderr = '';
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  return new Promise((resolve, reject) =>
    child.once('exit', (code) =>
      code === 0 ? resolve((performance.now() - started) / 1000) : reject(new Error(`usage --html: ${stderr}`)),
    ),
  );
}

export async function measureReport(records = 1_000_000, runs = 3): Promise<ReportTiming> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'aifd-report-bench-'));
  const logBytes = await writeAccessLog(dir, records);
  const config = path.join(dir, 'config.json');
  await writeFile(
    config,
    JSON.stringify({
      store: 'memory://',
      logs: { dir: path.join(dir, 'logs') },
      upstreams: [{ name: 'openai', baseUrl: 'http://127.0.0.1:9', keys: ['sk-report-bench-0000000000000000'] }],
      auth: { anonymous: true },
      limits: { budgets: { users: { '*': { monthly: 50 } } } },
    }),
  );
  const file = path.join(dir, 'report.html');
  const times: number[] = [];
  for (let i = 0; i < runs; i++) times.push(await runReport(config, file));
  const bytes = (await stat(file)).size;
  await rm(dir, { recursive: true, force: true });
  return { records, seconds: median(times), runs: times, bytes, logBytes };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const timing = await measureReport(Number(process.env.RECORDS ?? 1_000_000));
  process.stdout.write(`${JSON.stringify(timing)}\n`);
}
