import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import OpenAI from 'openai';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { startMockUpstream, type MockUpstream } from '../mock-upstream/mock-upstream.js';
import { fixtureJson } from '../mock-upstream/fixtures.js';
import { spawn } from 'node:child_process';
import { AIFD_BIN, runCli, startDaemon } from '../helpers/cli.js';

let mock: MockUpstream;
let dir: string;

beforeAll(async () => {
  mock = await startMockUpstream();
  dir = await mkdtemp(path.join(os.tmpdir(), 'aifd-usage-'));
  await writeFile(
    path.join(dir, 'hub.config.json'),
    JSON.stringify({
      admin: { port: 0 },
      upstreams: [{ name: 'openai', baseUrl: mock.url, keys: ['sk-usage-cli-key-000000000000000'] }],
      auth: {
        forwardKeys: [
          { key: 'ann-key-0000000000000', user: 'ann', roles: [] },
          { key: 'bob-key-0000000000000', user: 'bob', roles: [] },
        ],
      },
      prices: { 'gpt-4o-mini*': { input: 1, output: 2 } },
    }),
  );
});
afterAll(async () => {
  await mock.close();
  await rm(dir, { recursive: true, force: true });
});

describe('aifd usage', () => {
  it('reports requests, tokens and cost from what the daemon recorded', async () => {
    const daemon = await startDaemon(['--port', '0'], { cwd: dir });
    const ann = new OpenAI({ apiKey: 'ann-key-0000000000000', baseURL: `${daemon.url}/v1`, maxRetries: 0 });
    const bob = new OpenAI({ apiKey: 'bob-key-0000000000000', baseURL: `${daemon.url}/v1`, maxRetries: 0 });
    await ann.chat.completions.create({ model: 'gpt-4o-mini', messages: [] });
    await ann.chat.completions.create({ model: 'gpt-4o-mini', messages: [] });
    await bob.embeddings.create({ model: 'text-embedding-3-small', input: 'x' });
    await bob.chat.completions.create({ model: 'gpt-4-32k', messages: [] });
    await bob.chat.completions.create({ model: 'gpt-4-32k', messages: [] });
    expect(await daemon.stop('SIGTERM')).toBe(0);

    const chatUsage = fixtureJson<{ usage: { prompt_tokens: number; completion_tokens: number } }>(
      'chat-completion.json',
    ).usage;
    const byUser = await runCli(['usage', '--by', 'user', '--json'], { cwd: dir });
    expect(byUser.code).toBe(0);
    const groups = JSON.parse(byUser.stdout).groups;
    const annGroup = groups.find((g: { group: string }) => g.group === 'ann');
    expect(annGroup).toMatchObject({
      requests: 2,
      promptTokens: 2 * chatUsage.prompt_tokens,
      completionTokens: 2 * chatUsage.completion_tokens,
      unpriced: [],
    });
    expect(annGroup.costUsd).toBeCloseTo(
      (2 * chatUsage.prompt_tokens * 1 + 2 * chatUsage.completion_tokens * 2) / 1_000_000,
      10,
    );
    // gpt-4-32k has no price: its requests are named as unpriced, not counted as $0
    expect(groups.find((g: { group: string }) => g.group === 'bob')).toMatchObject({
      requests: 3,
      unpriced: ['gpt-4-32k'],
      unpricedRequests: 2,
    });
    expect(annGroup.unpricedRequests).toBe(0);

    const byModel = await runCli(['usage', '--by', 'model'], { cwd: dir });
    expect(byModel.code).toBe(0);
    expect(byModel.stdout).toMatch(/gpt-4o-mini-2024-07-18\s+2/);
    expect(byModel.stdout).toContain('total');
    expect(byModel.stdout).toMatch(/gpt-4-32k\s+2\s.*\s2 \(gpt-4-32k\)/);
    expect(byModel.stdout).toMatch(/total\s+5\s+≥ [\d.]+\s+2/);
    const bad = await runCli(['usage', '--by', 'planet'], { cwd: dir });
    expect(bad.code).toBe(2);
  });

  it('writes the report of the access log as one HTML file', async () => {
    const written = await runCli(['usage', '--html', 'report.html', '--since', '1d'], { cwd: dir });
    expect(written.code).toBe(0);
    expect(written.stderr).toMatch(
      /report written to report\.html from the access log: 5 request\(s\) over 1 day\(s\)/,
    );
    const html = await readFile(path.join(dir, 'report.html'), 'utf8');
    expect(html).toContain('<td>ann</td>');
    expect(html).toContain('<td>bob</td>');
    expect(html).toMatch(/<table id="totals">[\s\S]*<td>5<\/td>/);
    expect(html).not.toMatch(/(src|href)=["']?https?:/);
    // The same report from the SQL sink (the store's SQLite file), stacked by model.
    const fromSink = await runCli(
      ['usage', '--html', 'sink.html', '--since', '1d', '--source', 'sink', '--by', 'model'],
      {
        cwd: dir,
      },
    );
    expect(fromSink.code).toBe(0);
    expect(fromSink.stderr).toMatch(/report written to sink\.html from the SQL sink: 5 request\(s\)/);
    const sinkHtml = await readFile(path.join(dir, 'sink.html'), 'utf8');
    expect(sinkHtml).toContain('Spend per day, by model');
    expect(sinkHtml.match(/<table id="totals">[\s\S]*?<\/table>/)![0]).toBe(
      html.match(/<table id="totals">[\s\S]*?<\/table>/)![0],
    );
    const badSource = await runCli(['usage', '--html', 'x.html', '--source', 'tape'], { cwd: dir });
    expect(badSource.code).toBe(2);
    expect(badSource.stderr).toContain('--source must be one of auto, log, sink');
    const empty = await runCli(['usage', '--html', 'empty.html', '--since', '2020-01-01', '--until', '2020-02-01'], {
      cwd: dir,
    });
    expect(empty.code).toBe(0);
    expect(await readFile(path.join(dir, 'empty.html'), 'utf8')).toContain('No requests were recorded');
  });

  it('draws a bar a day on a terminal, and none through a pipe or with --no-chart', async () => {
    const inTerminal = (args: string) =>
      new Promise<string>((resolve) => {
        // util-linux `script` gives the command a real pty, as a person's terminal.
        const child = spawn('script', ['-qfec', `${process.execPath} ${AIFD_BIN} usage ${args}`, '/dev/null'], {
          cwd: dir,
          env: { PATH: process.env.PATH, HOME: process.env.HOME, TERM: 'xterm-256color', NO_COLOR: '1' },
          stdio: ['ignore', 'pipe', 'ignore'],
        });
        let out = '';
        child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
        // eslint-disable-next-line no-control-regex
        child.once('close', () => resolve(out.replace(/\u001b\[[0-9;?]*[A-Za-z]/g, '')));
      });
    const today = new Date().toISOString().slice(0, 10);
    const drawn = await inTerminal('--by user');
    expect(drawn).toContain('spend per day');
    expect(drawn).toMatch(new RegExp(`${today}  █{40}  +\\$0\\.\\d{4}  +5 req`));
    expect(await inTerminal('--by user --no-chart')).not.toContain('spend per day');
    const piped = await runCli(['usage', '--by', 'user'], { cwd: dir });
    expect(piped.stdout).toContain('total');
    expect(piped.stdout).not.toContain('spend per day');
  });
});
